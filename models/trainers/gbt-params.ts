/**
 * The gradient-boosted trees' parameters: defaults, bounds, and their validation. Every limit is a
 * bound on work or memory (rounds, depth, leaves, bins), checked before training starts.
 */
import { ValidationError } from "../../runtime/errors.ts";
import type { Dataset } from "./dataset.ts";
import { resolveScalePosWeight } from "./logistic.ts";
import { intParam, numberParam } from "./params.ts";

export type GbtObjective = "binary" | "regression";

export interface GbtParams {
  /** "binary": log loss on 0/1 labels, predicts a probability. "regression": squared error. */
  objective?: GbtObjective;
  /** Boosting rounds (trees) at most. Default 100, [1, 5000]. */
  rounds?: number;
  /** Shrinkage applied to every leaf value. Default 0.1, (0, 1]. */
  learningRate?: number;
  /** Depth bound (root at depth 0). Default 6, [1, 16]. */
  maxDepth?: number;
  /**
   * Leaf bound per tree; growth is best-first (largest gain first), so with fewer leaves than
   * 2^maxDepth the tree spends them where they gain most. Default min(2^maxDepth, 1024),
   * [2, min(2^maxDepth, 1024)].
   */
  maxLeaves?: number;
  /** Each child's hessian sum must reach this (sum of p(1−p)·w for log loss). Default 1e-3. */
  minChildWeight?: number;
  /** Each child must hold at least this many rows. Default 20, [1, 1e9]. */
  minSamplesLeaf?: number;
  /** L2 regularisation of leaf values (λ in the gain and leaf formulas). Default 1, [0, 1e6]. */
  lambda?: number;
  /** A split is made only if its gain exceeds this (γ). Default 0, [0, 1e9]. */
  minSplitGain?: number;
  /** Value bins per feature, fixed at training time (plus one bin for missing). Default 255, [2, 255]. */
  maxBins?: number;
  /** Rows sampled (seeded) to place the bin edges. Default 200000, [1000, 1e8]. */
  binSampleRows?: number;
  /** Fraction of rows drawn (seeded) for each tree. Default 1, (0, 1]. */
  subsample?: number;
  /** Fraction of features drawn (seeded) for each tree. Default 1, (0, 1]. */
  colsampleByTree?: number;
  /** Positive-row weight multiplier, or "balanced" (binary only). Default 1. */
  scalePosWeight?: number | "balanced";
  /**
   * With a validation set: stop after this many rounds without a new best validation loss, and
   * keep the trees up to the best round. Default 20, [1, 5000].
   */
  earlyStoppingRounds?: number;
  /** Seed of the row/feature sampling and bin-edge sampling. Default 0, [0, 2^32 − 1]. */
  seed?: number;
}

/** Every parameter resolved to a number. Stored in the model. */
export type ResolvedGbtParams = Required<Omit<GbtParams, "scalePosWeight">> & {
  scalePosWeight: number;
};

export const GBT_LIMITS = {
  roundsMax: 5000,
  depthMax: 16,
  leavesMax: 1024,
  binsMax: 255,
} as const;

/** Applies defaults and checks ranges; throws a ValidationError naming the parameter. */
export function resolveGbtParams(params: GbtParams, train: Dataset): ResolvedGbtParams {
  const objective = params.objective ?? "binary";
  if (objective !== "binary" && objective !== "regression") {
    throw new ValidationError("objective", `"${objective}"; expected "binary" or "regression"`);
  }
  const maxDepth = intParam("maxDepth", params.maxDepth, 6, 1, GBT_LIMITS.depthMax);
  const leavesBound = Math.min(2 ** maxDepth, GBT_LIMITS.leavesMax);
  const scalePosWeight =
    objective === "binary" ? resolveScalePosWeight(train, params.scalePosWeight) : 1;
  if (objective === "regression" && params.scalePosWeight !== undefined) {
    throw new ValidationError("scalePosWeight", "applies to the binary objective only");
  }
  return {
    objective,
    rounds: intParam("rounds", params.rounds, 100, 1, GBT_LIMITS.roundsMax),
    learningRate: numberParam("learningRate", params.learningRate, 0.1, 0, 1, true),
    maxDepth,
    maxLeaves: intParam("maxLeaves", params.maxLeaves, leavesBound, 2, leavesBound),
    minChildWeight: numberParam("minChildWeight", params.minChildWeight, 1e-3, 0, 1e9),
    minSamplesLeaf: intParam("minSamplesLeaf", params.minSamplesLeaf, 20, 1, 1e9),
    lambda: numberParam("lambda", params.lambda, 1, 0, 1e6),
    minSplitGain: numberParam("minSplitGain", params.minSplitGain, 0, 0, 1e9),
    maxBins: intParam("maxBins", params.maxBins, 255, 2, GBT_LIMITS.binsMax),
    binSampleRows: intParam("binSampleRows", params.binSampleRows, 200_000, 1000, 1e8),
    subsample: numberParam("subsample", params.subsample, 1, 0, 1, true),
    colsampleByTree: numberParam("colsampleByTree", params.colsampleByTree, 1, 0, 1, true),
    scalePosWeight,
    earlyStoppingRounds: intParam(
      "earlyStoppingRounds",
      params.earlyStoppingRounds,
      20,
      1,
      GBT_LIMITS.roundsMax,
    ),
    seed: intParam("seed", params.seed, 0, 0, 2 ** 32 - 1),
  };
}
