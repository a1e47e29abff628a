/**
 * L2-regularised logistic regression on standardised inputs, fitted by L-BFGS on the full batch
 * (30-odd features: a full-batch quasi-Newton method converges in tens of passes, needs no
 * learning rate and no seed, and its result does not depend on row order beyond rounding).
 *
 * The standardisation statistics are computed on the training rows only and saved in the model,
 * and serving applies exactly them (no training/serving skew: the original's mistake 4).
 */
import { ValidationError } from "../../runtime/errors.ts";
import { type Dataset, standardization, validateBinaryLabels, validateDataset } from "./dataset.ts";
import { lbfgs } from "./lbfgs.ts";
import { intParam, numberParam } from "./params.ts";

export interface LogisticParams {
  /** L2 penalty on the weights (not the bias), on the mean loss. Default 1e-3, [0, 1e3]. */
  l2?: number;
  /**
   * Weight of each positive row relative to a negative one (XGBoost's scale_pos_weight), or
   * "balanced" for (weight of negatives) / (weight of positives). Default 1.
   */
  scalePosWeight?: number | "balanced";
  /** L-BFGS iterations. Default 200, [1, 5000]. */
  iterationsMax?: number;
  /** Stop when every gradient component is at most this. Default 1e-6, (0, 1]. */
  gradientTolerance?: number;
  /** L-BFGS curvature pairs. Default 10, [1, 100]. */
  memory?: number;
}

/** A trained logistic regression. Plain data: JSON-serialisable. */
export interface LogisticModel {
  kind: "logistic";
  task: "binary";
  featureNames: string[];
  /** Weights on standardised features: z = bias + Σ weights[j] · (x[j] − mean[j]) / std[j]. */
  weights: number[];
  bias: number;
  mean: number[];
  std: number[];
  params: Required<Omit<LogisticParams, "scalePosWeight">> & { scalePosWeight: number };
  iterations: number;
  converged: boolean;
  /** Final (weighted, regularised) training objective. */
  trainLoss: number;
}

/** Resolves "balanced" to (Σ weight of negatives) / (Σ weight of positives). */
export function resolveScalePosWeight(ds: Dataset, value: number | "balanced" | undefined): number {
  if (value === "balanced") {
    let pos = 0;
    let neg = 0;
    for (let r = 0; r < ds.rows; r++) {
      const w = ds.weight ? (ds.weight[r] as number) : 1;
      if (ds.y[r] === 1) pos += w;
      else neg += w;
    }
    if (pos === 0) {
      throw new ValidationError("scalePosWeight", `"balanced" needs positive rows; there are none`);
    }
    return neg / pos;
  }
  return numberParam("scalePosWeight", value, 1, 0, 1e6, true);
}

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/** log(1 + e^z) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/**
 * Trains on `train` (binary labels; features must have no NaN — impute in the feature schema).
 *
 * @example
 * const model = trainLogistic(split.train, { l2: 1e-3, scalePosWeight: "balanced" });
 * const p = predictLogistic(model, split.test.x, 0);
 */
export function trainLogistic(train: Dataset, params: LogisticParams = {}): LogisticModel {
  validateDataset(train, "train");
  validateBinaryLabels(train, "train");
  if (train.rows === 0) throw new ValidationError("train.rows", "is 0; expected at least one row");
  const l2 = numberParam("l2", params.l2, 1e-3, 0, 1e3);
  const scalePosWeight = resolveScalePosWeight(train, params.scalePosWeight);
  const iterationsMax = intParam("iterationsMax", params.iterationsMax, 200, 1, 5000);
  const gradientTolerance = numberParam(
    "gradientTolerance",
    params.gradientTolerance,
    1e-6,
    0,
    1,
    true,
  );
  const memory = intParam("memory", params.memory, 10, 1, 100);
  const { rows: n, cols: d } = train;
  for (let i = 0; i < train.x.length; i++) {
    if (Number.isNaN(train.x[i])) {
      throw new ValidationError(
        "train.x",
        `row ${Math.floor(i / d)}, feature "${train.featureNames[i % d]}" is NaN; logistic ` +
          "regression needs every feature present (impute it in the feature schema)",
      );
    }
  }
  const { mean, std } = standardization(train);
  // Standardise once. Features are rounded to float32 first, as the ONNX model receives them.
  const z = new Float64Array(n * d);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < d; c++) {
      const v = Math.fround(train.x[r * d + c] as number);
      z[r * d + c] = (v - (mean[c] as number)) / (std[c] as number);
    }
  }
  const w = new Float64Array(n);
  let totalWeight = 0;
  for (let r = 0; r < n; r++) {
    const base = train.weight ? (train.weight[r] as number) : 1;
    w[r] = train.y[r] === 1 ? base * scalePosWeight : base;
    totalWeight += w[r] as number;
  }
  if (!(totalWeight > 0)) throw new ValidationError("train.weight", "sum to 0; expected > 0");
  // Parameters: [weights (d), bias]. Mean weighted log loss + (l2 / 2) · |weights|².
  const objective = (theta: Float64Array, grad: Float64Array): number => {
    grad.fill(0);
    const bias = theta[d] as number;
    let loss = 0;
    for (let r = 0; r < n; r++) {
      const off = r * d;
      let m = bias;
      for (let c = 0; c < d; c++) m += (theta[c] as number) * (z[off + c] as number);
      const wr = (w[r] as number) / totalWeight;
      const y = train.y[r] as number;
      loss += wr * (softplus(m) - y * m);
      const residual = wr * (sigmoid(m) - y);
      for (let c = 0; c < d; c++) grad[c] = (grad[c] as number) + residual * (z[off + c] as number);
      grad[d] = (grad[d] as number) + residual;
    }
    for (let c = 0; c < d; c++) {
      const t = theta[c] as number;
      loss += 0.5 * l2 * t * t;
      grad[c] = (grad[c] as number) + l2 * t;
    }
    return loss;
  };
  const result = lbfgs(objective, new Float64Array(d + 1), {
    iterationsMax,
    gradientTolerance,
    memory,
  });
  return {
    kind: "logistic",
    task: "binary",
    featureNames: [...train.featureNames],
    weights: Array.from(result.x.subarray(0, d)),
    bias: result.x[d] as number,
    mean,
    std,
    params: { l2, scalePosWeight, iterationsMax, gradientTolerance, memory },
    iterations: result.iterations,
    converged: result.converged,
    trainLoss: result.value,
  };
}

/**
 * The positive-class probability of the row starting at `offset` in `x`. Features are rounded to
 * float32 first, exactly as the exported ONNX model sees them.
 */
export function predictLogistic(model: LogisticModel, x: ArrayLike<number>, offset = 0): number {
  const { weights, mean, std } = model;
  let m = model.bias;
  for (let c = 0; c < weights.length; c++) {
    const v = Math.fround(x[offset + c] as number);
    m += (weights[c] as number) * ((v - (mean[c] as number)) / (std[c] as number));
  }
  return sigmoid(m);
}

/** Probabilities for `rows` consecutive rows of `x` (row-major, the model's column count). */
export function predictLogisticBatch(
  model: LogisticModel,
  x: ArrayLike<number>,
  rows: number,
): Float64Array {
  const out = new Float64Array(rows);
  const d = model.weights.length;
  for (let r = 0; r < rows; r++) out[r] = predictLogistic(model, x, r * d);
  return out;
}
