import { describe, expect, test } from "bun:test";
import { ValidationError } from "../../runtime/errors.ts";
import { type Dataset, timeSplit } from "./dataset.ts";
import { type GbtModel, gbtFeatureImportance, trainGbt } from "./gbt.ts";
import { predictGbtBatch, predictGbtRaw } from "./gbt-predict.ts";
import { predictLogisticBatch, trainLogistic } from "./logistic.ts";
import { averagePrecision, rmse, rocAuc } from "./metrics.ts";
import { seededRandom } from "./rng.ts";
import { syntheticBinary } from "./synthetic.ts";

const fractions = { train: 0.6, validation: 0.2, test: 0.2 };

describe("GBT vs logistic vs constant on a nonlinear problem (time-split test slice)", () => {
  const ds = syntheticBinary({ rows: 30_000, cols: 30, seed: 11, positiveRate: 0.1 });
  const split = timeSplit(ds, fractions);
  const gbt = trainGbt(split.train, { rounds: 300, maxDepth: 5, seed: 3 }, split.validation);
  const logistic = trainLogistic(split.train);
  const { test: t } = split;
  const apGbt = averagePrecision(predictGbtBatch(gbt, t.x, t.rows), t.y);
  const apLogistic = averagePrecision(predictLogisticBatch(logistic, t.x, t.rows), t.y);
  const apConstant = averagePrecision(new Float64Array(t.rows).fill(0.1), t.y);

  test("GBT beats logistic on PR-AUC by a clear margin", () => {
    expect(apGbt).toBeGreaterThan(apLogistic + 0.1);
    expect(rocAuc(predictGbtBatch(gbt, t.x, t.rows), t.y)).toBeGreaterThan(
      rocAuc(predictLogisticBatch(logistic, t.x, t.rows), t.y) + 0.05,
    );
  });

  test("logistic beats a constant", () => {
    expect(logistic.converged).toBe(true);
    expect(apLogistic).toBeGreaterThan(apConstant + 0.08);
  });

  test("the trees lean on the informative features, not the noise", () => {
    const top = gbtFeatureImportance(gbt)
      .slice(0, 6)
      .map((f) => f.feature)
      .sort();
    expect(top).toEqual(["f0", "f1", "f2", "f3", "f4", "f5"]);
  });
});

describe("early stopping", () => {
  test("stops before the round bound when validation loss stops improving, keeping the best round", () => {
    const ds = syntheticBinary({ rows: 8_000, cols: 10, seed: 5 });
    const split = timeSplit(ds, fractions);
    const model = trainGbt(
      split.train,
      { rounds: 1000, learningRate: 0.5, maxDepth: 6, minSamplesLeaf: 5, earlyStoppingRounds: 10 },
      split.validation,
    );
    expect(model.roundsRun).toBeLessThan(1000);
    expect(model.roundsRun).toBe(model.bestIteration + 10);
    expect(model.trees.length).toBe(model.bestIteration);
    const best = Math.min(...model.history.validation);
    expect(model.history.validation[model.bestIteration - 1]).toBe(best);
    expect(model.history.validation.length).toBe(model.roundsRun);
  });
});

/** Mean log loss of a model on a data set, from the TypeScript predictor's margins. */
function meanLogLoss(model: GbtModel, ds: Dataset): number {
  let s = 0;
  for (let r = 0; r < ds.rows; r++) {
    const m = predictGbtRaw(model, ds.x, r * ds.cols);
    const y = ds.y[r] as number;
    s += (m > 0 ? m + Math.log1p(Math.exp(-m)) : Math.log1p(Math.exp(m))) - y * m;
  }
  return s / ds.rows;
}

describe("thresholds as real values", () => {
  const ds = syntheticBinary({ rows: 6_000, cols: 8, seed: 9, missingRate: 0.1 });

  test("the predictor (thresholds) routes every training row as training did (bins)", () => {
    // The trainer tracks its predictions through bin indices; its last training loss must be
    // what the threshold-based predictor gives, row for row, NaN rows and subsampling included.
    for (const params of [{}, { subsample: 0.7, colsampleByTree: 0.6, seed: 4 }]) {
      const model = trainGbt(ds, { rounds: 40, ...params });
      expect(meanLogLoss(model, ds)).toBeCloseTo(model.history.train.at(-1) as number, 10);
    }
  });

  test("every threshold is a float32 value and a saved bin edge", () => {
    const model = trainGbt(ds, { rounds: 20 });
    for (const tree of model.trees) {
      tree.feature.forEach((f, k) => {
        if (f < 0) return;
        const t = tree.threshold[k] as number;
        expect(Math.fround(t)).toBe(t);
        expect(model.binEdges[f]).toContain(t);
      });
    }
  });
});

describe("missing values", () => {
  test("learns where NaN goes when missingness itself is informative", () => {
    const random = seededRandom(2);
    const rows = 4_000;
    const x = new Float64Array(rows * 2);
    const y = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      const missing = random() < 0.3;
      x[r * 2] = missing ? Number.NaN : random();
      x[r * 2 + 1] = random();
      y[r] = missing ? (random() < 0.9 ? 1 : 0) : random() < 0.1 ? 1 : 0;
    }
    const model = trainGbt({ featureNames: ["a", "b"], rows, cols: 2, x, y }, { rounds: 30 });
    const p = predictGbtBatch(model, [Number.NaN, 0.5, 0.5, 0.5], 2);
    expect(p[0]).toBeGreaterThan(0.8);
    expect(p[1]).toBeLessThan(0.2);
  });
});

describe("determinism and parameters", () => {
  const ds = syntheticBinary({ rows: 3_000, cols: 8, seed: 3 });
  const params = { rounds: 15, subsample: 0.8, colsampleByTree: 0.5 };

  test("the same seed gives the same model; another seed another", () => {
    const a = JSON.stringify(trainGbt(ds, { ...params, seed: 1 }));
    expect(JSON.stringify(trainGbt(ds, { ...params, seed: 1 }))).toBe(a);
    expect(JSON.stringify(trainGbt(ds, { ...params, seed: 2 }))).not.toBe(a);
  });

  test("out-of-range parameters name the parameter and the range", () => {
    expect(() => trainGbt(ds, { maxDepth: 17 })).toThrow(
      "maxDepth: 17 is out of range; expected an integer in [1, 16]",
    );
    expect(() => trainGbt(ds, { maxBins: 256 })).toThrow("maxBins");
    expect(() => trainGbt(ds, { rounds: 5001 })).toThrow("[1, 5000]");
    expect(() => trainGbt(ds, { learningRate: 0 })).toThrow("(0, 1]");
    expect(() => trainGbt(ds, { maxDepth: 3, maxLeaves: 9 })).toThrow("[2, 8]");
    expect(() => trainGbt({ ...ds, y: ds.y.map((v) => v * 2) })).toThrow(ValidationError);
  });

  test("maxLeaves bounds best-first growth, maxDepth bounds depth", () => {
    const model = trainGbt(ds, { rounds: 5, maxDepth: 8, maxLeaves: 5, minSamplesLeaf: 5 });
    for (const t of model.trees)
      expect(t.feature.filter((f) => f < 0).length).toBeLessThanOrEqual(5);
    const depthOf = (t: GbtModel["trees"][number], node: number): number =>
      (t.feature[node] as number) < 0
        ? 0
        : 1 + Math.max(depthOf(t, t.left[node] as number), depthOf(t, t.right[node] as number));
    const shallow = trainGbt(ds, { rounds: 5, maxDepth: 2, minSamplesLeaf: 5 });
    for (const t of shallow.trees) expect(depthOf(t, 0)).toBeLessThanOrEqual(2);
  });
});

describe("regression objective", () => {
  test("squared error fits a nonlinear target far better than its mean", () => {
    const random = seededRandom(8);
    const rows = 5_000;
    const x = new Float64Array(rows * 3);
    const y = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      const a = random() * 4;
      const b = random();
      x.set([a, b, random()], r * 3);
      y[r] = 600 + 300 * Math.sin(a) + (b > 0.5 ? 200 : 0) + 20 * (random() - 0.5);
    }
    const ds: Dataset = { featureNames: ["distance", "rain", "noise"], rows, cols: 3, x, y };
    const model = trainGbt(ds, { objective: "regression", rounds: 100, learningRate: 0.2 });
    const mean = y.reduce((s, v) => s + v, 0) / rows;
    const pred = predictGbtBatch(model, x, rows);
    expect(rmse(pred, y)).toBeLessThan(0.1 * rmse(new Float64Array(rows).fill(mean), y));
    expect(model.baseScore).toBeCloseTo(mean, 6);
  });
});
