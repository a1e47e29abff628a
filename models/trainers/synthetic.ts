/**
 * Seeded synthetic data sets for tests and benchmarks. The binary problem is deliberately
 * nonlinear (an XOR interaction, a step, a categorical effect) on top of linear terms, so a tree
 * ensemble should beat a linear model clearly and a linear model should beat a constant.
 */
import type { Dataset } from "./dataset.ts";
import { normal, seededRandom } from "./rng.ts";

export interface SyntheticOptions {
  rows: number;
  /** Columns, at least 6; the ones after the sixth are pure noise. */
  cols: number;
  seed: number;
  /** Target share of positives (the intercept is solved for it). Default 0.1. */
  positiveRate?: number;
  /** Share of feature values replaced by NaN in columns 0 and 3. Default 0. */
  missingRate?: number;
  /** Event time of the first row (ms) and mean gap between rows. Defaults 1.7e12, 50 ms. */
  startMs?: number;
  gapMs?: number;
}

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/**
 * A binary data set: logit = 2.5·sign(x0·x1) + 2·[x2 > 0.7] + x3 + 1.5·[x4 ∈ {2,5,7}] − 0.7·x5
 * + intercept; labels drawn from it. x4 is an integer category code 0..9; rows are in time order.
 *
 * @example
 * const ds = syntheticBinary({ rows: 50_000, cols: 30, seed: 1, positiveRate: 0.05 });
 */
export function syntheticBinary(options: SyntheticOptions): Dataset {
  const { rows, cols, seed } = options;
  if (cols < 6) throw new RangeError(`cols: ${cols}; expected at least 6`);
  const positiveRate = options.positiveRate ?? 0.1;
  const missingRate = options.missingRate ?? 0;
  const random = seededRandom(seed);
  const x = new Float64Array(rows * cols);
  const logit = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const x0 = normal(random);
    const x1 = normal(random);
    const x2 = random();
    const x3 = normal(random);
    const x4 = Math.floor(random() * 10);
    const x5 = normal(random);
    x[o] = x0;
    x[o + 1] = x1;
    x[o + 2] = x2;
    x[o + 3] = x3;
    x[o + 4] = x4;
    x[o + 5] = x5;
    for (let c = 6; c < cols; c++) x[o + c] = c % 2 === 0 ? normal(random) : random() * 100;
    logit[r] =
      2.5 * Math.sign(x0 * x1) +
      (x2 > 0.7 ? 2 : 0) +
      x3 +
      (x4 === 2 || x4 === 5 || x4 === 7 ? 1.5 : 0) -
      0.7 * x5;
    if (missingRate > 0) {
      if (random() < missingRate) x[o] = Number.NaN;
      if (random() < missingRate) x[o + 3] = Number.NaN;
    }
  }
  // Bisection on the intercept so the expected positive rate matches.
  let lo = -30;
  let hi = 30;
  for (let it = 0; it < 60; it++) {
    const mid = (lo + hi) / 2;
    let s = 0;
    for (let r = 0; r < rows; r++) s += sigmoid((logit[r] as number) + mid);
    if (s / rows < positiveRate) lo = mid;
    else hi = mid;
  }
  const intercept = (lo + hi) / 2;
  const y = new Float64Array(rows);
  const time = new Float64Array(rows);
  let t = options.startMs ?? 1.7e12;
  const gap = options.gapMs ?? 50;
  for (let r = 0; r < rows; r++) {
    y[r] = random() < sigmoid((logit[r] as number) + intercept) ? 1 : 0;
    t += Math.floor(random() * 2 * gap);
    time[r] = t;
  }
  const featureNames = Array.from({ length: cols }, (_, c) => `f${c}`);
  return { featureNames, rows, cols, x, y, time };
}
