/** Figures the benchmarks print. (Not itself a benchmark: bench/index.ts runs bench/*.ts only.) */

/** The `q` quantile (0..1) of ascending `sorted` by the nearest rank below; NaN when empty. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}
