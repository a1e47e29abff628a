/**
 * The training data every trainer takes: a dense, row-major feature matrix with its labels, and
 * optionally event times (for time-based splits) and sample weights.
 *
 * Splits are by time only, never random (the original project's mistake 5): the model is trained
 * on the past, stopped early and thresholded on the validation slice that follows, and judged on
 * the test slice after that, which nothing in training has seen.
 */
import { ValidationError } from "../../runtime/errors.ts";

/** A dense data set. `x` is row-major: feature `c` of row `r` is `x[r * cols + c]`. */
export interface Dataset {
  featureNames: string[];
  rows: number;
  cols: number;
  /** Features, `rows * cols`, row-major. NaN means missing (the GBT learns where it goes). */
  x: Float64Array;
  /** Labels: 0/1 for binary classification, a real value for regression. */
  y: Float64Array;
  /** Event time of each row in ms since the epoch; needed by {@link timeSplit}. */
  time?: Float64Array;
  /** Non-negative sample weights; all 1 when absent. */
  weight?: Float64Array;
}

/** Per-column standardisation statistics, saved with the model that used them. */
export interface Standardization {
  mean: number[];
  std: number[];
}

/** Fractions of the rows, by time, for each slice; they sum to 1. */
export interface SplitFractions {
  train: number;
  validation: number;
  test: number;
}

/** Three consecutive slices in time order. */
export interface TimeSplit {
  train: Dataset;
  validation: Dataset;
  test: Dataset;
  /** The first event time of the validation and test slices (NaN for an empty slice). */
  validationStartMs: number;
  testStartMs: number;
}

/**
 * Checks the shapes agree and the values are usable: `x` finite or NaN (never ±Infinity), `y`,
 * `time` and `weight` finite, weights ≥ 0, feature names distinct. Throws a ValidationError that
 * names the first bad field and row.
 */
export function validateDataset(ds: Dataset, name = "dataset"): void {
  const { rows, cols } = ds;
  if (!Number.isInteger(rows) || rows < 0) {
    throw new ValidationError(`${name}.rows`, `${rows} is not a non-negative integer`);
  }
  if (!Number.isInteger(cols) || cols < 1) {
    throw new ValidationError(`${name}.cols`, `${cols} is not a positive integer`);
  }
  if (ds.featureNames.length !== cols) {
    throw new ValidationError(
      `${name}.featureNames`,
      `has ${ds.featureNames.length} names for ${cols} columns; expected one name per column`,
    );
  }
  const seen = new Set<string>();
  for (const f of ds.featureNames) {
    if (seen.has(f)) throw new ValidationError(`${name}.featureNames`, `"${f}" appears twice`);
    seen.add(f);
  }
  expectLength(`${name}.x`, ds.x, rows * cols);
  expectLength(`${name}.y`, ds.y, rows);
  if (ds.time) expectLength(`${name}.time`, ds.time, rows);
  if (ds.weight) expectLength(`${name}.weight`, ds.weight, rows);
  for (let i = 0; i < ds.x.length; i++) {
    const v = ds.x[i] as number;
    if (v === Number.POSITIVE_INFINITY || v === Number.NEGATIVE_INFINITY) {
      const r = Math.floor(i / cols);
      const feature = ds.featureNames[i % cols];
      throw new ValidationError(
        `${name}.x`,
        `row ${r}, feature "${feature}" is ${v}; expected a finite number or NaN (missing)`,
      );
    }
  }
  expectFinite(`${name}.y`, ds.y);
  if (ds.time) expectFinite(`${name}.time`, ds.time);
  if (ds.weight) {
    expectFinite(`${name}.weight`, ds.weight);
    for (let r = 0; r < rows; r++) {
      if ((ds.weight[r] as number) < 0) {
        throw new ValidationError(`${name}.weight`, `row ${r} is negative; expected ≥ 0`);
      }
    }
  }
}

/** Checks `y` is 0/1 (binary classification labels). */
export function validateBinaryLabels(ds: Dataset, name = "dataset"): void {
  for (let r = 0; r < ds.rows; r++) {
    const v = ds.y[r];
    if (v !== 0 && v !== 1) {
      throw new ValidationError(`${name}.y`, `row ${r} is ${v}; expected 0 or 1`);
    }
  }
}

function expectLength(field: string, a: ArrayLike<number>, length: number): void {
  if (a.length !== length) {
    throw new ValidationError(field, `has length ${a.length}; expected ${length}`);
  }
}

function expectFinite(field: string, a: ArrayLike<number>): void {
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) {
      throw new ValidationError(field, `row ${i} is ${a[i]}; expected a finite number`);
    }
  }
}

/**
 * A new data set holding the given rows, in the given order (copied).
 *
 * @example
 * const positives = selectRows(ds, indicesWhere(ds.y, (v) => v === 1));
 */
export function selectRows(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const n = indices.length;
  const { cols } = ds;
  const x = new Float64Array(n * cols);
  const y = new Float64Array(n);
  const time = ds.time ? new Float64Array(n) : undefined;
  const weight = ds.weight ? new Float64Array(n) : undefined;
  for (let i = 0; i < n; i++) {
    const r = indices[i] as number;
    if (!Number.isInteger(r) || r < 0 || r >= ds.rows) {
      throw new ValidationError("indices", `index ${r} at ${i} is outside [0, ${ds.rows})`);
    }
    x.set(ds.x.subarray(r * cols, (r + 1) * cols), i * cols);
    y[i] = ds.y[r] as number;
    if (time && ds.time) time[i] = ds.time[r] as number;
    if (weight && ds.weight) weight[i] = ds.weight[r] as number;
  }
  const out: Dataset = { featureNames: [...ds.featureNames], rows: n, cols, x, y };
  if (time) out.time = time;
  if (weight) out.weight = weight;
  return out;
}

/** Row indices ordered by event time; rows with equal times keep their original order. */
export function timeOrder(ds: Dataset): Uint32Array {
  const { time } = ds;
  if (!time) {
    throw new ValidationError(
      "dataset.time",
      "is missing; a time-based split needs each row's event time (ms)",
    );
  }
  const order = new Uint32Array(ds.rows);
  for (let i = 0; i < ds.rows; i++) order[i] = i;
  // The index tie-break makes the order total, so the sort is deterministic.
  order.sort((a, b) => (time[a] as number) - (time[b] as number) || a - b);
  return order;
}

/**
 * Splits by event time into train, then validation, then test (never at random). A boundary never
 * separates rows with the same timestamp: it moves later until the time changes, so no slice
 * holds an event simultaneous with one in an earlier slice.
 *
 * @example
 * const { train, validation, test } = timeSplit(ds, { train: 0.7, validation: 0.15, test: 0.15 });
 */
export function timeSplit(ds: Dataset, fractions: SplitFractions): TimeSplit {
  const { train, validation, test } = fractions;
  for (const [k, v] of Object.entries(fractions)) {
    if (!Number.isFinite(v) || v < 0 || v > 1) {
      throw new ValidationError(`fractions.${k}`, `${v} is out of range; expected [0, 1]`);
    }
  }
  if (!(train > 0)) throw new ValidationError("fractions.train", `${train}; expected > 0`);
  const sum = train + validation + test;
  if (Math.abs(sum - 1) > 1e-9) {
    throw new ValidationError("fractions", `sum to ${sum}; expected 1`);
  }
  const order = timeOrder(ds);
  const time = ds.time as Float64Array;
  const n = ds.rows;
  const cut = (fraction: number, from: number): number => {
    let i = Math.max(from, Math.min(n, Math.round(fraction * n)));
    while (i > 0 && i < n && time[order[i] as number] === time[order[i - 1] as number]) i++;
    return i;
  };
  const validationStart = cut(train, 0);
  const testStart = test === 0 ? n : cut(train + validation, validationStart);
  const startMs = (i: number) => (i < n ? (time[order[i] as number] as number) : Number.NaN);
  return {
    train: selectRows(ds, order.subarray(0, validationStart)),
    validation: selectRows(ds, order.subarray(validationStart, testStart)),
    test: selectRows(ds, order.subarray(testStart, n)),
    validationStartMs: validationStart < testStart ? startMs(validationStart) : Number.NaN,
    testStartMs: startMs(testStart),
  };
}

/**
 * Mean and (population) standard deviation of each column, ignoring NaN. A constant column gets
 * std 1, so standardising it gives 0 instead of dividing by zero.
 */
export function standardization(ds: Dataset): Standardization {
  const { rows, cols, x } = ds;
  const sum = new Float64Array(cols);
  const count = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = x[r * cols + c] as number;
      if (!Number.isNaN(v)) {
        sum[c] = (sum[c] as number) + v;
        count[c] = (count[c] as number) + 1;
      }
    }
  }
  const mean = Array.from(sum, (s, c) => (count[c] ? s / (count[c] as number) : 0));
  // Second pass on the deviations: numerically safer than E[x²] − E[x]².
  const sq = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = x[r * cols + c] as number;
      if (!Number.isNaN(v)) {
        const d = v - (mean[c] as number);
        sq[c] = (sq[c] as number) + d * d;
      }
    }
  }
  const std = Array.from(sq, (s, c) => {
    const sd = count[c] ? Math.sqrt(s / (count[c] as number)) : 0;
    return sd > 1e-12 ? sd : 1;
  });
  return { mean, std };
}

/**
 * The features as float32, the type every ONNX model here takes (`features`, shape [N, cols]).
 *
 * @example
 * const probabilities = await scoreBatch(scorer, toFloat32(ds.x), ds.rows, ds.cols);
 */
export function toFloat32(x: Float64Array): Float32Array {
  return Float32Array.from(x);
}
