/**
 * The divergences the detectors compute between a reference distribution and a live window's
 * counts. Shares are floored at a small epsilon so that an empty bin on either side gives a large,
 * finite score instead of infinity.
 */

/** Floor of a bin's share: an empty bin counts as this (PSI's usual smoothing). */
export const SHARE_FLOOR = 1e-4;

/**
 * Population stability index: Σ (live − ref) · ln(live / ref). Conventional reading: < 0.1
 * stable, 0.1–0.25 a moderate shift, > 0.25 a significant one.
 */
export function psi(
  reference: readonly number[],
  counts: ArrayLike<number>,
  total: number,
): number {
  let sum = 0;
  for (let i = 0; i < reference.length; i++) {
    const e = Math.max(SHARE_FLOOR, reference[i] as number);
    const a = Math.max(SHARE_FLOOR, total > 0 ? (counts[i] as number) / total : 0);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

/** Jensen-Shannon divergence in bits, in [0, 1]: 0 for equal distributions, 1 for disjoint ones. */
export function jensenShannon(
  reference: readonly number[],
  counts: ArrayLike<number>,
  total: number,
): number {
  let sum = 0;
  for (let i = 0; i < reference.length; i++) {
    const p = reference[i] as number;
    const q = total > 0 ? (counts[i] as number) / total : 0;
    const m = (p + q) / 2;
    if (p > 0) sum += 0.5 * p * Math.log2(p / m);
    if (q > 0) sum += 0.5 * q * Math.log2(q / m);
  }
  return Math.max(0, Math.min(1, sum));
}
