/**
 * Reference distributions for drift detection, fixed when a model is trained: per numeric feature
 * the bin edges (quantiles of the training rows) and each bin's share; per categorical feature each
 * code's share; and the same for the model's scores. A detector compares live windows with them,
 * so the bins never move with the data they judge.
 */
import { ValidationError } from "../../runtime/errors.ts";

/** Bins of a numeric feature: `edges.length + 1` value bins, then one bin for missing (NaN). */
export interface NumericReference {
  kind: "numeric";
  feature: string;
  /** Column of the feature in the model's rows (-1 for the score). */
  column: number;
  /** Ascending, distinct: bin i holds values ≤ edges[i] (and > edges[i-1]). */
  edges: number[];
  /** Share of each bin, `edges.length + 2` entries (the last: missing), summing to 1. */
  proportions: number[];
}

/** Shares of a categorical feature's codes (index = code); codes past the end share the last. */
export interface CategoricalReference {
  kind: "categorical";
  feature: string;
  column: number;
  proportions: number[];
}

export type FeatureReference = NumericReference | CategoricalReference;

/** What a model version carries for drift detection (stored with its feature schema). */
export interface DriftReference {
  version: 1;
  /** Rows the shares were counted on. */
  rows: number;
  features: FeatureReference[];
  /** The model's scores on held-out rows (prediction drift); absent when none were given. */
  score?: NumericReference;
}

export interface BuildReferenceOptions {
  /** Row-major feature rows. */
  x: ArrayLike<number>;
  rows: number;
  names: readonly string[];
  /** Features whose values are category codes (Jensen-Shannon); the rest are numeric (PSI). */
  categorical?: ReadonlySet<string>;
  /** Features to leave out (e.g. ones that grow by construction, like an account's age). */
  exclude?: ReadonlySet<string>;
  /** Scores of the model on held-out rows, for prediction drift. */
  scores?: ArrayLike<number>;
  /** Value bins per numeric feature (quantiles; fewer when values repeat). Default 10, [2, 50]. */
  bins?: number;
  /** Rows sampled (evenly) to place the edges. Default 50 000. */
  sampleRowsMax?: number;
}

/** Codes a categorical reference keeps; larger codes share the last slot. */
const CATEGORY_CODES_MAX = 256;

/** Index of the bin of `value` under `edges` (the missing bin for NaN). */
export function binOf(edges: readonly number[], value: number): number {
  if (Number.isNaN(value)) return edges.length + 1;
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (value <= (edges[mid] as number)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Quantile edges of the finite values in `sample`, distinct, without the maximum. */
function quantileEdges(sample: Float64Array, bins: number): number[] {
  const values = sample.filter((v) => !Number.isNaN(v)).sort();
  if (values.length === 0) return [];
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) {
    const q = values[Math.min(values.length - 1, Math.floor((i * values.length) / bins))] as number;
    if (edges.length === 0 || q > (edges[edges.length - 1] as number)) edges.push(q);
  }
  // An edge at the maximum would leave the last value bin empty forever.
  if (edges.length > 0 && edges[edges.length - 1] === values[values.length - 1]) edges.pop();
  return edges;
}

function numericReference(
  feature: string,
  column: number,
  values: (i: number) => number,
  rows: number,
  bins: number,
  sampleRowsMax: number,
): NumericReference {
  const step = Math.max(1, Math.floor(rows / sampleRowsMax));
  const sample = new Float64Array(Math.ceil(rows / step));
  for (let i = 0, j = 0; i < rows; i += step, j++) sample[j] = values(i);
  const edges = quantileEdges(sample, bins);
  const counts = new Float64Array(edges.length + 2);
  for (let i = 0; i < rows; i++) {
    const bin = binOf(edges, values(i));
    counts[bin] = (counts[bin] as number) + 1;
  }
  return { kind: "numeric", feature, column, edges, proportions: shares(counts, rows) };
}

function shares(counts: Float64Array, total: number): number[] {
  return Array.from(counts, (c) => (total > 0 ? c / total : 0));
}

/**
 * Builds the reference from training rows (and held-out scores).
 *
 * @example
 * const reference = buildDriftReference({ x: train.x, rows: train.rows, names: schema.names,
 *   categorical: new Set(CATEGORICAL_NAMES), scores: validationScores });
 */
export function buildDriftReference(options: BuildReferenceOptions): DriftReference {
  const { x, rows, names } = options;
  const cols = names.length;
  const bins = options.bins ?? 10;
  if (!Number.isInteger(bins) || bins < 2 || bins > 50) {
    throw new ValidationError("bins", `${bins}; expected an integer in [2, 50]`);
  }
  if (!Number.isInteger(rows) || rows < 1 || x.length < rows * cols) {
    throw new ValidationError(
      "rows",
      `${rows} rows of ${cols} columns need ${rows * cols} values; got ${x.length}`,
    );
  }
  const sampleRowsMax = options.sampleRowsMax ?? 50_000;
  const features: FeatureReference[] = [];
  names.forEach((feature, column) => {
    if (options.exclude?.has(feature)) return;
    const value = (i: number) => x[i * cols + column] as number;
    if (options.categorical?.has(feature)) {
      const counts = new Float64Array(CATEGORY_CODES_MAX + 1);
      let top = 0;
      for (let i = 0; i < rows; i++) {
        const code = Math.min(CATEGORY_CODES_MAX, Math.max(0, Math.trunc(value(i) || 0)));
        counts[code] = (counts[code] as number) + 1;
        if (code > top) top = code;
      }
      features.push({
        kind: "categorical",
        feature,
        column,
        proportions: shares(counts.subarray(0, top + 2), rows),
      });
    } else {
      features.push(numericReference(feature, column, value, rows, bins, sampleRowsMax));
    }
  });
  const reference: DriftReference = { version: 1, rows, features };
  const scores = options.scores;
  if (scores && scores.length > 0) {
    reference.score = numericReference(
      "score",
      -1,
      (i) => scores[i] as number,
      scores.length,
      bins,
      sampleRowsMax,
    );
  }
  return reference;
}

/** Reads a stored reference (from a model version's feature schema); null when absent or unknown. */
export function parseDriftReference(value: unknown): DriftReference | null {
  if (typeof value !== "object" || value === null) return null;
  const raw = value as Partial<DriftReference>;
  if (raw.version !== 1 || !Array.isArray(raw.features)) return null;
  return raw as DriftReference;
}
