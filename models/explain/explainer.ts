/**
 * Why a model scored a row as it did: each feature's contribution to the score's log-odds
 * (SHAP values), taken from the served ONNX bytes themselves, so an explanation always describes
 * the model that produced the score.
 *
 * - Gradient-boosted trees: exact path-dependent TreeSHAP ({@link TreeExplainer}) over the trees of
 *   the graph's TreeEnsembleRegressor, weighing unknown branches by the training rows that reached
 *   them (the node covers the exporter writes as `nodes_hitrates`).
 * - Logistic regression: weight × standardised value, the exact SHAP value of a linear model
 *   against the training mean.
 *
 * Contributions plus `expectedValue` add up to the model's margin for the row (the logit of its
 * probability), so "why 0.97?" reads as a sum: a typical row's log-odds and what each feature of
 * this one added or took away.
 */

import { ML_DOMAIN } from "../onnx/gbt-graph.ts";
import type { GraphNode } from "../onnx/graph-reader.ts";
import { readGraph } from "../onnx/graph-reader.ts";
import { META } from "../onnx/metadata.ts";
import { readModelInfo } from "../onnx/model-info.ts";
import { ProtoReader } from "../onnx/protobuf.ts";
import { type ShapTree, TreeExplainer } from "./tree-shap.ts";

export interface ModelExplainer {
  readonly featureNames: readonly string[];
  /**
   * What the contributions add up to: a classifier's log-odds (the logit of its probability), or
   * a regression's prediction itself.
   */
  readonly unit: "log-odds" | "prediction";
  /** The margin (log-odds) of a typical training row: where every explanation starts. */
  readonly expectedValue: number;
  /** Each feature's contribution to the row's margin, in `featureNames` order, into `out`. */
  contributions(row: ArrayLike<number>, out: Float64Array): void;
}

/** The model cannot be explained; the message says why (shown to whoever asked). */
export class ExplanationUnavailableError extends Error {}

/** One feature's part in a score. */
export interface Contribution {
  feature: string;
  value: number;
  /** Log-odds this feature added to the score (negative: it pointed away from a flag). */
  contribution: number;
}

/**
 * Builds the explainer of an exported model. Throws {@link ExplanationUnavailableError} when the
 * bytes hold neither kind of model this project exports, or trees without their node covers
 * (models exported before covers were saved: retraining makes an explainable one).
 */
export function explainerFromOnnx(
  onnx: Uint8Array,
  featureNames: readonly string[],
): ModelExplainer {
  const info = readModelInfo(onnx);
  const graph = readGraph(new ProtoReader(info.graph));
  const ensemble = graph.nodes.find(
    (node) => node.opType === "TreeEnsembleRegressor" && node.domain === ML_DOMAIN,
  );
  if (ensemble) {
    const unit = info.metadata.get(META.task) === "regression" ? "prediction" : "log-odds";
    return { unit, ...treeExplainer(ensemble, featureNames) };
  }
  const weights = graph.initializers.get("weights");
  const mean = graph.initializers.get("mean");
  const std = graph.initializers.get("std");
  const bias = graph.initializers.get("bias");
  if (weights && mean && std && bias)
    return linearExplainer(featureNames, weights, mean, std, bias);
  throw new ExplanationUnavailableError(
    "the model is neither a tree ensemble nor a logistic regression as this project exports them",
  );
}

function numbers(node: GraphNode, ...names: string[]): number[] | null {
  for (const name of names) {
    const value = node.attributes.get(name);
    if (Array.isArray(value) && (value.length === 0 || typeof value[0] === "number")) {
      return value as number[];
    }
  }
  return null;
}

function required(node: GraphNode, ...names: string[]): number[] {
  const value = numbers(node, ...names);
  if (!value) {
    throw new ExplanationUnavailableError(`the tree ensemble has no ${names.join(" or ")}`);
  }
  return value;
}

/** Rebuilds the trees from the ensemble's parallel node arrays (node ids are per tree). */
function treeExplainer(
  node: GraphNode,
  featureNames: readonly string[],
): Omit<ModelExplainer, "unit"> {
  const covers = numbers(node, "nodes_hitrates_as_tensor", "nodes_hitrates");
  if (!covers || covers.length === 0) {
    throw new ExplanationUnavailableError(
      "the model was exported without its node covers (before explanations existed); retrain it to explain its scores",
    );
  }
  const treeIds = required(node, "nodes_treeids");
  const nodeIds = required(node, "nodes_nodeids");
  const featureIds = required(node, "nodes_featureids");
  const thresholds = required(node, "nodes_values_as_tensor", "nodes_values");
  const trueIds = required(node, "nodes_truenodeids");
  const falseIds = required(node, "nodes_falsenodeids");
  const missingTrue = numbers(node, "nodes_missing_value_tracks_true") ?? [];
  const modes = node.attributes.get("nodes_modes");
  const targetTrees = required(node, "target_treeids");
  const targetNodes = required(node, "target_nodeids");
  const weights = required(node, "target_weights_as_tensor", "target_weights");
  const base = numbers(node, "base_values_as_tensor", "base_values") ?? [0];
  const count = treeIds.length;
  if (
    !Array.isArray(modes) ||
    [nodeIds, featureIds, thresholds, trueIds, falseIds, covers].some((a) => a.length !== count)
  ) {
    throw new ExplanationUnavailableError("the tree ensemble's node arrays differ in length");
  }
  const trees: (ShapTree & { [K in keyof ShapTree]: number[] })[] = [];
  const treeOf = (id: number) => {
    // Ids index arrays: bounded by the node count, so a damaged file cannot make them huge.
    if (!Number.isInteger(id) || id < 0 || id >= count) {
      throw new ExplanationUnavailableError(`tree id ${id} is not in [0, ${count})`);
    }
    while (trees.length <= id) {
      trees.push({
        feature: [],
        threshold: [],
        left: [],
        right: [],
        defaultLeft: [],
        value: [],
        cover: [],
      });
    }
    return trees[id] as (typeof trees)[number];
  };
  for (let i = 0; i < count; i++) {
    const mode = modes[i];
    if (mode !== "LEAF" && mode !== "BRANCH_LT") {
      throw new ExplanationUnavailableError(
        `node mode ${String(mode)} is not explained (BRANCH_LT and LEAF are)`,
      );
    }
    const tree = treeOf(treeIds[i] as number);
    const k = nodeIds[i] as number;
    if (!Number.isInteger(k) || k < 0 || k >= count) {
      throw new ExplanationUnavailableError(`node id ${k} is not in [0, ${count})`);
    }
    const leaf = mode === "LEAF";
    tree.feature[k] = leaf ? -1 : (featureIds[i] as number);
    tree.threshold[k] = thresholds[i] as number;
    tree.left[k] = leaf ? -1 : (trueIds[i] as number);
    tree.right[k] = leaf ? -1 : (falseIds[i] as number);
    tree.defaultLeft[k] = missingTrue[i] ?? 0;
    tree.value[k] = 0;
    tree.cover[k] = covers[i] as number;
  }
  for (let i = 0; i < targetTrees.length; i++) {
    const tree = treeOf(targetTrees[i] as number);
    const k = targetNodes[i] as number;
    if (tree.feature[k] !== -1) {
      throw new ExplanationUnavailableError(`a leaf weight names node ${k}, which is not a leaf`);
    }
    tree.value[k] = (tree.value[k] as number) + (weights[i] as number);
  }
  let explainer: TreeExplainer;
  try {
    explainer = new TreeExplainer(trees, featureNames.length);
  } catch (error) {
    throw new ExplanationUnavailableError(
      `the trees cannot be explained: ${(error as Error).message}`,
    );
  }
  const baseValue = base[0] ?? 0;
  return {
    featureNames,
    expectedValue: baseValue + explainer.expectedValue,
    contributions: (row, out) => explainer.shap(row, out),
  };
}

function linearExplainer(
  featureNames: readonly string[],
  weights: number[],
  mean: number[],
  std: number[],
  bias: number[],
): ModelExplainer {
  const d = featureNames.length;
  if (weights.length !== d || mean.length !== d || std.length !== d) {
    throw new ExplanationUnavailableError(
      `the logistic model has ${weights.length} weights for ${d} features`,
    );
  }
  return {
    featureNames,
    unit: "log-odds",
    // The standardised features average 0 over the training rows, so a typical row's margin is
    // the bias.
    expectedValue: bias[0] ?? 0,
    contributions(row, out) {
      for (let i = 0; i < d; i++) {
        // As the graph computes it: the float32 input in float64, centred and scaled.
        const x = Math.fround(row[i] as number);
        out[i] = ((weights[i] as number) * (x - (mean[i] as number))) / (std[i] as number);
      }
    },
  };
}

/**
 * Every feature's contribution to the row's score, largest in size first: what a person reads to
 * see why a score is what it is.
 */
export function explainRow(explainer: ModelExplainer, row: ArrayLike<number>): Contribution[] {
  const out = new Float64Array(explainer.featureNames.length);
  explainer.contributions(row, out);
  return explainer.featureNames
    .map((feature, i) => ({ feature, value: row[i] as number, contribution: out[i] as number }))
    .sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution));
}

/**
 * The features that pushed the score up most (at most `max`, each adding log-odds): the reasons
 * for a flag, as a fraud analyst's reason codes list them.
 */
export function reasonsOf(
  explainer: ModelExplainer,
  row: ArrayLike<number>,
  max: number,
): Contribution[] {
  // explainRow's order (largest in size first) is, among positive contributions, largest first.
  return explainRow(explainer, row)
    .filter((c) => c.contribution > 0)
    .slice(0, max);
}
