/**
 * Quantile binning for the histogram GBT. Bin edges are fixed at training time and saved with
 * the model; every split threshold is one of them, as a real feature value.
 *
 * Bin 0 of every feature holds missing values (NaN). Value bin j ≥ 1 holds
 * edges[j − 2] ≤ v < edges[j − 1], so a split "bins 1..j go left" is exactly `v < edges[j − 1]`,
 * the ONNX `BRANCH_LT` rule. Values are rounded to float32 before binning, and every edge is a
 * float32 value, so training, the TypeScript predictor and ONNX (float input) route every row the
 * same way, even a row exactly on a threshold.
 */
import type { Dataset } from "./dataset.ts";
import { seededRandom } from "./rng.ts";

/** A float32 cut strictly above `a` and at most `b` (a < b, both float32): their midpoint. */
function cutBetween(a: number, b: number): number {
  const mid = Math.fround(a + (b - a) / 2);
  return mid > a ? mid : b;
}

/** Rows to look at for the edges: all of them, or a seeded sample of `sampleRows`. */
function sampleRowIndices(rows: number, sampleRows: number, seed: number): Uint32Array {
  const all = new Uint32Array(rows);
  for (let i = 0; i < rows; i++) all[i] = i;
  if (rows <= sampleRows) return all;
  const random = seededRandom(seed ^ 0x5bd1e995);
  // Partial Fisher–Yates: the first sampleRows places become a uniform sample.
  for (let i = 0; i < sampleRows; i++) {
    const j = i + Math.floor(random() * (rows - i));
    const t = all[i] as number;
    all[i] = all[j] as number;
    all[j] = t;
  }
  return all.subarray(0, sampleRows);
}

/**
 * Up to `maxBins − 1` ascending float32 edges per feature (so up to `maxBins` value bins), placed
 * at quantiles of the (sampled) training values. A feature with few distinct values gets one bin
 * per value; a value holding more than a bin's share of the rows gets a bin of its own.
 */
export function binEdges(
  ds: Dataset,
  maxBins: number,
  sampleRows: number,
  seed: number,
): Float64Array[] {
  const { cols } = ds;
  const sample = sampleRowIndices(ds.rows, sampleRows, seed);
  const values = new Float64Array(sample.length);
  const edges: Float64Array[] = [];
  for (let c = 0; c < cols; c++) {
    let m = 0;
    for (const r of sample) {
      const v = ds.x[r * cols + c] as number;
      if (!Number.isNaN(v)) values[m++] = Math.fround(v);
    }
    const sorted = values.subarray(0, m).sort();
    // Distinct values and their counts.
    const distinct: number[] = [];
    const counts: number[] = [];
    for (let i = 0; i < m; i++) {
      const v = sorted[i] as number;
      if (distinct.length && distinct[distinct.length - 1] === v) {
        counts[counts.length - 1] = (counts[counts.length - 1] as number) + 1;
      } else {
        distinct.push(v);
        counts.push(1);
      }
    }
    const cuts: number[] = [];
    if (distinct.length <= maxBins) {
      for (let i = 1; i < distinct.length; i++) {
        cuts.push(cutBetween(distinct[i - 1] as number, distinct[i] as number));
      }
    } else {
      // Greedy equal-frequency bins that never split a value.
      let rest = m;
      let binsLeft = maxBins;
      let share = rest / binsLeft;
      let acc = 0;
      for (let i = 0; i < distinct.length - 1 && cuts.length < maxBins - 1; i++) {
        acc += counts[i] as number;
        if (acc >= share || (counts[i + 1] as number) >= share) {
          cuts.push(cutBetween(distinct[i] as number, distinct[i + 1] as number));
          rest -= acc;
          acc = 0;
          binsLeft--;
          share = rest / Math.max(1, binsLeft);
        }
      }
    }
    edges.push(Float64Array.from(cuts));
  }
  return edges;
}

/** The bin of one value: 0 for NaN, else 1 + the number of edges ≤ fround(v). */
export function binOf(edges: Float64Array, v: number): number {
  if (Number.isNaN(v)) return 0;
  const f = Math.fround(v);
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((edges[mid] as number) <= f) lo = mid + 1;
    else hi = mid;
  }
  return lo + 1;
}

/**
 * The binned matrix, column-major (`binned[c * rows + r]`), one byte per value: a histogram pass
 * over one feature reads one contiguous column.
 */
export function binMatrix(ds: Dataset, edges: Float64Array[]): Uint8Array {
  const { rows, cols, x } = ds;
  const binned = new Uint8Array(rows * cols);
  for (let c = 0; c < cols; c++) {
    const e = edges[c] as Float64Array;
    const base = c * rows;
    for (let r = 0; r < rows; r++) binned[base + r] = binOf(e, x[r * cols + c] as number);
  }
  return binned;
}
