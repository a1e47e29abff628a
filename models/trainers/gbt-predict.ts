/**
 * The pure TypeScript GBT predictor. It routes exactly as the exported ONNX model does: each
 * feature is rounded to float32 (the ONNX input type), a row goes left iff `x < threshold`
 * (`BRANCH_LT`), a NaN goes left iff the node's `defaultLeft`; the margin is the sum of the leaf
 * values, tree by tree, plus `baseScore`, in float64.
 */
import type { GbtModel } from "./gbt.ts";
import type { GbtTree } from "./gbt-tree.ts";

/** All trees in flat typed arrays (absolute node indices), built once per model. */
interface Forest {
  roots: Int32Array;
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  defaultLeft: Uint8Array;
  leafValue: Float64Array;
}

const forests = new WeakMap<GbtModel, Forest>();

/** Flattens trees (for the predictor and for the trainer's validation updates). */
export function flattenTrees(trees: GbtTree[]): Forest {
  const nodes = trees.reduce((s, t) => s + t.feature.length, 0);
  const f: Forest = {
    roots: new Int32Array(trees.length),
    feature: new Int32Array(nodes),
    threshold: new Float64Array(nodes),
    left: new Int32Array(nodes),
    right: new Int32Array(nodes),
    defaultLeft: new Uint8Array(nodes),
    leafValue: new Float64Array(nodes),
  };
  let base = 0;
  trees.forEach((t, i) => {
    f.roots[i] = base;
    for (let k = 0; k < t.feature.length; k++) {
      const leaf = (t.feature[k] as number) < 0;
      f.feature[base + k] = t.feature[k] as number;
      f.threshold[base + k] = t.threshold[k] as number;
      f.left[base + k] = leaf ? -1 : base + (t.left[k] as number);
      f.right[base + k] = leaf ? -1 : base + (t.right[k] as number);
      f.defaultLeft[base + k] = t.defaultLeft[k] ? 1 : 0;
      f.leafValue[base + k] = t.leafValue[k] as number;
    }
    base += t.feature.length;
  });
  return f;
}

function forestOf(model: GbtModel): Forest {
  let f = forests.get(model);
  if (!f) {
    f = flattenTrees(model.trees);
    forests.set(model, f);
  }
  return f;
}

/** The leaf node (absolute index) that the row at `offset` reaches in the tree rooted at `root`. */
export function leafOf(f: Forest, root: number, x: ArrayLike<number>, offset: number): number {
  let node = root;
  let c = f.feature[node] as number;
  while (c >= 0) {
    const v = Math.fround(x[offset + c] as number);
    // Written as ONNX evaluates it: (v < t) || (missing tracks true && isnan(v)).
    node =
      v < (f.threshold[node] as number) || (Number.isNaN(v) && f.defaultLeft[node] === 1)
        ? (f.left[node] as number)
        : (f.right[node] as number);
    c = f.feature[node] as number;
  }
  return node;
}

/** The sum of the leaf values of `f`'s trees for one row (no base score). */
export function sumLeaves(f: Forest, x: ArrayLike<number>, offset: number): number {
  let s = 0;
  for (let t = 0; t < f.roots.length; t++) {
    s += f.leafValue[leafOf(f, f.roots[t] as number, x, offset)] as number;
  }
  return s;
}

/**
 * The raw margin of the row starting at `offset` (log-odds for "binary", the prediction for
 * "regression").
 */
export function predictGbtRaw(model: GbtModel, x: ArrayLike<number>, offset = 0): number {
  // Leaves first, base last: the order onnxruntime sums them in.
  return sumLeaves(forestOf(model), x, offset) + model.baseScore;
}

/**
 * The positive-class probability of a binary model for the row at `offset`.
 *
 * @example
 * const p = predictGbtProba(model, row); // row: one feature vector in the model's column order
 */
export function predictGbtProba(model: GbtModel, x: ArrayLike<number>, offset = 0): number {
  return 1 / (1 + Math.exp(-predictGbtRaw(model, x, offset)));
}

/**
 * Predictions for `rows` consecutive rows of `x`: probabilities for "binary", values for
 * "regression" (the model's output, as its ONNX export gives it).
 */
export function predictGbtBatch(model: GbtModel, x: ArrayLike<number>, rows: number): Float64Array {
  const out = new Float64Array(rows);
  const d = model.featureNames.length;
  const binary = model.task === "binary";
  for (let r = 0; r < rows; r++) {
    const m = predictGbtRaw(model, x, r * d);
    out[r] = binary ? 1 / (1 + Math.exp(-m)) : m;
  }
  return out;
}
