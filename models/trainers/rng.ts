/**
 * A small seeded random number generator, so every trainer and every synthetic data set is
 * reproducible from its seed. Not for cryptography.
 */

/** Returns uniform floats in [0, 1) from a 32-bit seed (mulberry32: fast, 2^32 period). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box–Muller) from a uniform source. */
export function normal(random: () => number): number {
  // 1 - u keeps the log argument in (0, 1]; the result is never infinite.
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
