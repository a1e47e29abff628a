/**
 * What a model relies on, as metrics of its registered version: each feature's mean absolute
 * contribution (SHAP value) over held-out rows, from the exported ONNX bytes, so the figures
 * describe the very model that serves.
 *
 * - `importance.<feature>`: over a sample of all the rows: what moves a typical score.
 * - `importance.positive.<feature>`: over the rows labelled 1 only (for fraud, the frauds): what
 *   the model catches them by. On a rare class the two differ; the second is the one to compare
 *   when a retrained candidate is reviewed ("the new model leans on the device, the old one on the
 *   distance").
 *
 * One-hot columns (`merchant_category=grocery`) are one feature: their contributions are summed
 * per row before the absolute value, which is the Shapley value of the group. Figures are in the
 * explainer's unit (log-odds for a classifier). The rows are sampled evenly, not at random, so a
 * version's figures can be computed again; at most {@link IMPORTANCE_ROWS_MAX} and
 * {@link IMPORTANCE_POSITIVE_ROWS_MAX} rows, ~0.4 ms each for a 120-tree model.
 */
import { ExplanationUnavailableError, explainerFromOnnx } from "./explainer.ts";

/** Rows explained for `importance.<feature>`. */
export const IMPORTANCE_ROWS_MAX = 1000;
/** Rows labelled 1 explained for `importance.positive.<feature>`. */
export const IMPORTANCE_POSITIVE_ROWS_MAX = 300;

/** The feature a model column belongs to: a one-hot column's categorical, else itself. */
export function featureOfColumn(name: string): string {
  const at = name.indexOf("=");
  return at > 0 ? name.slice(0, at) : name;
}

/**
 * The importance metrics of a model on `rows` rows of `x` (row-major, `names.length` columns)
 * labelled `y`. Empty when the model cannot be explained (an export without node covers): the
 * version is registered all the same.
 */
export function importanceMetrics(
  onnx: Uint8Array,
  names: readonly string[],
  x: ArrayLike<number> & { subarray(from: number, to: number): ArrayLike<number> },
  y: ArrayLike<number>,
  rows: number,
): Record<string, number> {
  let explainer: ReturnType<typeof explainerFromOnnx>;
  try {
    explainer = explainerFromOnnx(onnx, names);
  } catch (error) {
    if (error instanceof ExplanationUnavailableError) return {};
    throw error;
  }
  const features = [...new Set(names.map(featureOfColumn))];
  const groupOf = Int32Array.from(names, (name) => features.indexOf(featureOfColumn(name)));
  const cols = names.length;
  const contributions = new Float64Array(cols);
  const perRow = new Float64Array(features.length);

  const meanAbs = (picked: number[]): Float64Array => {
    const sums = new Float64Array(features.length);
    for (const r of picked) {
      explainer.contributions(x.subarray(r * cols, (r + 1) * cols), contributions);
      perRow.fill(0);
      for (let c = 0; c < cols; c++) {
        const f = groupOf[c] as number;
        perRow[f] = (perRow[f] as number) + (contributions[c] as number);
      }
      for (let f = 0; f < features.length; f++) {
        sums[f] = (sums[f] as number) + Math.abs(perRow[f] as number);
      }
    }
    for (let f = 0; f < features.length; f++) sums[f] = (sums[f] as number) / picked.length;
    return sums;
  };

  const metrics: Record<string, number> = {};
  const all = evenly(rows, IMPORTANCE_ROWS_MAX, () => true);
  const positives = evenly(rows, IMPORTANCE_POSITIVE_ROWS_MAX, (r) => y[r] === 1);
  for (const [prefix, picked] of [
    ["importance", all],
    ["importance.positive", positives],
  ] as const) {
    if (picked.length === 0) continue;
    const values = meanAbs(picked);
    features.forEach((feature, f) => {
      metrics[`${prefix}.${metricSafe(feature)}`] = values[f] as number;
    });
  }
  return metrics;
}

/** A feature name as the registry's metric names allow it (letters, digits and `_.-/:`). */
function metricSafe(feature: string): string {
  return feature.replace(/[^A-Za-z0-9_.\-/:]/g, "_").slice(0, 200);
}

/** At most `max` of the rows that `keep`, spread evenly over all of them, in order. */
function evenly(rows: number, max: number, keep: (row: number) => boolean): number[] {
  const kept: number[] = [];
  for (let r = 0; r < rows; r++) if (keep(r)) kept.push(r);
  if (kept.length <= max) return kept;
  return Array.from({ length: max }, (_, i) => kept[Math.floor((i * kept.length) / max)] as number);
}

/**
 * The features a version relies on most, from its metrics: `importance.positive.*` when it has
 * them (what it catches positives by), else `importance.*`; largest first.
 */
export function topFeatures(
  metrics: Readonly<Record<string, number>>,
  max: number,
): { feature: string; importance: number }[] {
  const read = (prefix: string) =>
    Object.entries(metrics)
      .filter(([name]) => name.startsWith(prefix))
      .map(([name, importance]) => ({ feature: name.slice(prefix.length), importance }));
  const positive = read("importance.positive.");
  const all = read("importance.").filter((f) => !f.feature.startsWith("positive."));
  return (positive.length > 0 ? positive : all)
    .sort((a, b) => b.importance - a.importance)
    .slice(0, max);
}
