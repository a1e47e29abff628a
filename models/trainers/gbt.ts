/**
 * Histogram-based gradient-boosted trees: binary log loss or squared error, second-order leaf
 * values with L2 regularisation, shrinkage, seeded row and feature subsampling, class weighting,
 * learned missing-value directions, and early stopping on a validation slice.
 *
 * Features are quantile-binned once (`gbt-bins.ts`, at most 255 bins plus one for missing), trees
 * are grown best-first from gradient histograms (`gbt-tree.ts`), and thresholds are stored as real
 * feature values so the model can be evaluated without the bins (`gbt-predict.ts`, ONNX).
 */
import { ValidationError } from "../../runtime/errors.ts";
import { type Dataset, validateBinaryLabels, validateDataset } from "./dataset.ts";
import { binEdges, binMatrix } from "./gbt-bins.ts";
import { binLayout } from "./gbt-histogram.ts";
import {
  type GbtObjective,
  type GbtParams,
  type ResolvedGbtParams,
  resolveGbtParams,
} from "./gbt-params.ts";
import { flattenTrees, leafOf } from "./gbt-predict.ts";
import { type GbtTree, growTree, type TreeContext } from "./gbt-tree.ts";
import { seededRandom } from "./rng.ts";

export type { GbtParams, ResolvedGbtParams } from "./gbt-params.ts";
export type { GbtTree } from "./gbt-tree.ts";

/** A trained GBT. Plain data: JSON-serialisable. */
export interface GbtModel {
  kind: "gbt";
  task: GbtObjective;
  featureNames: string[];
  /** The initial margin: log-odds of the (weighted) positive rate, or the mean target. */
  baseScore: number;
  trees: GbtTree[];
  /** The float32 bin edges per feature, fixed at training time; thresholds are drawn from them. */
  binEdges: number[][];
  params: ResolvedGbtParams;
  /** Rounds kept: the round (1-based) with the lowest validation loss; = trees.length. */
  bestIteration: number;
  /** Rounds trained before stopping (≥ bestIteration). */
  roundsRun: number;
  /** Loss after each round run: weighted training objective, and validation loss if any. */
  history: { train: number[]; validation: number[] };
}

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/** log(1 + e^z) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/** Per-row loss at margin m: log loss (from the margin, exact for large |m|) or squared error. */
function rowLoss(binary: boolean, m: number, y: number): number {
  return binary ? softplus(m) - y * m : 0.5 * (m - y) * (m - y);
}

function checkValidation(train: Dataset, validation: Dataset, binary: boolean): void {
  validateDataset(validation, "validation");
  if (binary) validateBinaryLabels(validation, "validation");
  const same =
    validation.cols === train.cols &&
    validation.featureNames.every((f, i) => f === train.featureNames[i]);
  if (!same) {
    throw new ValidationError(
      "validation.featureNames",
      "differ from train.featureNames; expected the same features in the same order",
    );
  }
  if (validation.rows === 0) {
    throw new ValidationError("validation.rows", "is 0; pass no validation set or a non-empty one");
  }
}

/**
 * Trains on `train`; with `validation`, stops early (patience `earlyStoppingRounds`) on the
 * validation loss and keeps the best round's trees. The validation slice must come after the
 * training slice in time and must not be the test slice (see `timeSplit`).
 *
 * @example
 * const { train, validation, test } = timeSplit(ds, { train: 0.7, validation: 0.15, test: 0.15 });
 * const model = trainGbt(train, { rounds: 300, maxDepth: 6, scalePosWeight: "balanced" }, validation);
 * const p = predictGbtProba(model, test.x, 0);
 */
export function trainGbt(train: Dataset, params: GbtParams = {}, validation?: Dataset): GbtModel {
  validateDataset(train, "train");
  const p = resolveGbtParams(params, train);
  const binary = p.objective === "binary";
  if (binary) validateBinaryLabels(train, "train");
  if (train.rows === 0) throw new ValidationError("train.rows", "is 0; expected at least one row");
  if (validation) checkValidation(train, validation, binary);
  const { rows: n, cols: d } = train;

  const edges = binEdges(train, p.maxBins, p.binSampleRows, p.seed);
  const layout = binLayout(edges);
  const binned = binMatrix(train, edges);

  // Row weights: sample weight times the class weight.
  const w = new Float64Array(n);
  let weightSum = 0;
  let weightedY = 0;
  for (let r = 0; r < n; r++) {
    const base = train.weight ? (train.weight[r] as number) : 1;
    w[r] = binary && train.y[r] === 1 ? base * p.scalePosWeight : base;
    weightSum += w[r] as number;
    weightedY += (w[r] as number) * (train.y[r] as number);
  }
  if (!(weightSum > 0)) throw new ValidationError("train.weight", "sum to 0; expected > 0");
  const mean = weightedY / weightSum;
  const rate = Math.min(1 - 1e-6, Math.max(1e-6, mean));
  const baseScore = binary ? Math.log(rate / (1 - rate)) : mean;

  const grad = new Float64Array(n);
  const hess = new Float64Array(n);
  const ctx: TreeContext = {
    binned,
    rows: n,
    layout,
    edges,
    grad,
    hess,
    rules: {
      lambda: p.lambda,
      minChildWeight: p.minChildWeight,
      minSamplesLeaf: p.minSamplesLeaf,
      minSplitGain: p.minSplitGain,
    },
    maxDepth: p.maxDepth,
    maxLeaves: p.maxLeaves,
    learningRate: p.learningRate,
    orderedG: new Float64Array(n),
    orderedH: new Float64Array(n),
    scratch: new Uint32Array(n),
    pool: [],
  };
  const random = seededRandom(p.seed);
  const index = new Uint32Array(n);
  const inBag = new Uint8Array(n);
  const allFeatures = Int32Array.from({ length: d }, (_, c) => c);
  const featureCount = Math.max(1, Math.round(p.colsampleByTree * d));
  // Sums of leaf values so far; the base score is added when a margin is needed.
  const leafSum = new Float64Array(n);
  const validSum = validation ? new Float64Array(validation.rows) : undefined;

  const trees: GbtTree[] = [];
  const history = { train: [] as number[], validation: [] as number[] };
  let bestLoss = Number.POSITIVE_INFINITY;
  let bestIteration = 0;
  for (let round = 0; round < p.rounds; round++) {
    let loss = 0;
    for (let r = 0; r < n; r++) {
      const m = (leafSum[r] as number) + baseScore;
      const y = train.y[r] as number;
      const wr = w[r] as number;
      loss += wr * rowLoss(binary, m, y);
      if (binary) {
        const prob = sigmoid(m);
        grad[r] = (prob - y) * wr;
        // Floor the hessian: a saturated row must not make a leaf's H + λ vanish when λ = 0.
        hess[r] = Math.max(prob * (1 - prob), 1e-16) * wr;
      } else {
        grad[r] = (m - y) * wr;
        hess[r] = wr;
      }
    }
    if (round > 0) history.train.push(loss / weightSum);

    let count = 0;
    if (p.subsample < 1) {
      inBag.fill(0);
      for (let r = 0; r < n; r++) {
        if (random() < p.subsample) {
          index[count++] = r;
          inBag[r] = 1;
        }
      }
    }
    if (count === 0) {
      for (let r = 0; r < n; r++) index[r] = r;
      count = n;
      inBag.fill(1);
    }
    let features = allFeatures;
    if (featureCount < d) {
      const shuffled = Int32Array.from(allFeatures);
      for (let i = 0; i < featureCount; i++) {
        const j = i + Math.floor(random() * (d - i));
        const t = shuffled[i] as number;
        shuffled[i] = shuffled[j] as number;
        shuffled[j] = t;
      }
      features = shuffled.subarray(0, featureCount).sort();
    }

    const { tree, leaves } = growTree(ctx, index, count, features);
    trees.push(tree);
    for (const leaf of leaves) {
      const v = tree.leafValue[leaf.node] as number;
      for (let k = leaf.start; k < leaf.end; k++) {
        const r = index[k] as number;
        leafSum[r] = (leafSum[r] as number) + v;
      }
    }
    const single = flattenTrees([tree]);
    if (count < n) {
      // Rows left out of this tree's sample still get its prediction.
      for (let r = 0; r < n; r++) {
        if (inBag[r] === 0) {
          leafSum[r] =
            (leafSum[r] as number) +
            (single.leafValue[leafOf(single, 0, train.x, r * d)] as number);
        }
      }
    }
    if (validation && validSum) {
      let vLoss = 0;
      let vWeight = 0;
      for (let r = 0; r < validation.rows; r++) {
        const v = single.leafValue[leafOf(single, 0, validation.x, r * d)] as number;
        validSum[r] = (validSum[r] as number) + v;
        const wr = validation.weight ? (validation.weight[r] as number) : 1;
        vLoss +=
          wr * rowLoss(binary, (validSum[r] as number) + baseScore, validation.y[r] as number);
        vWeight += wr;
      }
      vLoss = vWeight > 0 ? vLoss / vWeight : 0;
      history.validation.push(binary ? vLoss : 2 * vLoss);
      if (vLoss < bestLoss) {
        bestLoss = vLoss;
        bestIteration = round + 1;
      } else if (round + 1 - bestIteration >= p.earlyStoppingRounds) {
        break;
      }
    } else {
      bestIteration = round + 1;
    }
  }
  // The loss after the last round run, so history.train has one entry per round.
  let finalLoss = 0;
  for (let r = 0; r < n; r++) {
    finalLoss +=
      (w[r] as number) * rowLoss(binary, (leafSum[r] as number) + baseScore, train.y[r] as number);
  }
  history.train.push(finalLoss / weightSum);
  // Log loss is reported as is; squared error as MSE (twice the ½-scaled objective).
  if (!binary) history.train = history.train.map((v) => 2 * v);
  return {
    kind: "gbt",
    task: p.objective,
    featureNames: [...train.featureNames],
    baseScore,
    trees: trees.slice(0, bestIteration),
    binEdges: edges.map((e) => Array.from(e)),
    params: p,
    bestIteration,
    roundsRun: trees.length,
    history,
  };
}

/** Total split gain per feature, largest first: which features the trees lean on. */
export function gbtFeatureImportance(model: GbtModel): { feature: string; gain: number }[] {
  const gain = new Float64Array(model.featureNames.length);
  for (const t of model.trees) {
    t.feature.forEach((c, k) => {
      if (c >= 0) gain[c] = (gain[c] as number) + (t.gain[k] as number);
    });
  }
  return model.featureNames
    .map((feature, c) => ({ feature, gain: gain[c] as number }))
    .sort((a, b) => b.gain - a.gain);
}
