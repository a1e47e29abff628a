/**
 * ONNX parity: the TypeScript predictors and onnxruntime-node agree on every row, and route every
 * row through the same leaves, including rows placed exactly on split thresholds.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { type GbtModel, trainGbt } from "../trainers/gbt.ts";
import { flattenTrees, leafOf, predictGbtBatch } from "../trainers/gbt-predict.ts";
import type { GbtTree } from "../trainers/gbt-tree.ts";
import { predictLogisticBatch, trainLogistic } from "../trainers/logistic.ts";
import { syntheticBinary } from "../trainers/synthetic.ts";
import { exportOnnx } from "./export.ts";
import { loadOnnx, type OnnxScorer, releaseOnnx, scoreBatch } from "./session.ts";

// Hooks start servers, processes or big fixtures: bunfig's timeout covers tests, not hooks (5 s).
setDefaultTimeout(120_000);

const COLS = 30;
const TEST_ROWS = 10_000;
const scorers: OnnxScorer[] = [];

async function load(model: Parameters<typeof exportOnnx>[0]): Promise<OnnxScorer> {
  const scorer = await loadOnnx(exportOnnx(model), { featureNames: model.featureNames });
  scorers.push(scorer);
  return scorer;
}

afterAll(async () => {
  for (const s of scorers) await releaseOnnx(s);
});

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** The float32 next to `t` in direction `dir` (one ulp away). */
function float32Step(t: number, dir: 1 | -1): number {
  const f = new Float32Array([t]);
  const bits = new Int32Array(f.buffer);
  if (t === 0) return Math.fround(dir * 2 ** -149);
  bits[0] = (bits[0] as number) + (t > 0 === dir > 0 ? 1 : -1);
  return f[0] as number;
}

/** A one-tree regression model whose output is the id of the leaf a row reaches. */
function leafIdModel(model: GbtModel, tree: GbtTree): GbtModel {
  const leafValue = tree.feature.map((f, k) => (f < 0 ? k : 0));
  return { ...model, task: "regression", baseScore: 0, trees: [{ ...tree, leafValue }] };
}

function gbtModel(): GbtModel {
  return {
    kind: "gbt",
    task: "regression",
    featureNames: ["x", "y"],
    baseScore: 0,
    trees: [],
    binEdges: [[0.5], []],
    params: {} as GbtModel["params"],
    bestIteration: 1,
    roundsRun: 1,
    history: { train: [], validation: [] },
  };
}

describe("GBT parity with onnxruntime", () => {
  const train = syntheticBinary({ rows: 20_000, cols: COLS, seed: 31, missingRate: 0.05 });
  const testSet = syntheticBinary({ rows: TEST_ROWS, cols: COLS, seed: 32, missingRate: 0.05 });
  const model = trainGbt(train, { rounds: 120, maxDepth: 6, seed: 1 });
  const rows32 = Float32Array.from(testSet.x);

  test("probabilities agree to 1e-5 on every row of a 10k-row test set (≥ 100 trees)", async () => {
    expect(model.trees.length).toBeGreaterThanOrEqual(100);
    const scorer = await load(model);
    const onnx = await scoreBatch(scorer, rows32, TEST_ROWS, COLS);
    const ts = predictGbtBatch(model, rows32, TEST_ROWS);
    expect(maxAbsDiff(onnx, ts)).toBeLessThanOrEqual(1e-5);
    // One row at a time too, as a lone event is scored.
    for (let r = 0; r < 50; r++) {
      const one = await scoreBatch(scorer, rows32.subarray(r * COLS, (r + 1) * COLS), 1, COLS);
      expect(Math.abs((one[0] as number) - (ts[r] as number))).toBeLessThanOrEqual(1e-5);
    }
  });

  test("probabilities far below 1e-6 agree to 1e-5 relative, not only absolute", async () => {
    // A fraud model scores most transactions below 1e-6. Shifted by -16, this model's margins
    // give such scores; a float32 Sigmoid would round them to multiples of 2^-24 (or 0).
    const shifted = { ...model, baseScore: model.baseScore - 16 };
    const onnx = await scoreBatch(await load(shifted), rows32, TEST_ROWS, COLS);
    const ts = predictGbtBatch(shifted, rows32, TEST_ROWS);
    let worst = 0;
    for (let r = 0; r < TEST_ROWS; r++) {
      worst = Math.max(worst, Math.abs((onnx[r] as number) / (ts[r] as number) - 1));
    }
    expect(Math.max(...ts)).toBeLessThan(1e-5);
    expect(worst).toBeLessThanOrEqual(1e-5);
  });

  test("rows on, just below and just above every threshold, and NaN, reach the same leaves", async () => {
    // For the first trees: each split's feature set to its threshold, one float32 ulp either
    // side, and NaN, in an otherwise ordinary row.
    const probe: number[] = [];
    const trees = model.trees.slice(0, 8);
    trees.forEach((tree, ti) => {
      tree.feature.forEach((f, k) => {
        if (f < 0) return;
        const t = tree.threshold[k] as number;
        for (const v of [t, float32Step(t, -1), float32Step(t, 1), Number.NaN]) {
          const row = Array.from(rows32.subarray((ti * 97 + k) * COLS, (ti * 97 + k + 1) * COLS));
          row[f] = v;
          probe.push(...row);
        }
      });
    });
    const n = probe.length / COLS;
    const probe32 = Float32Array.from(probe);
    for (const tree of trees) {
      const ids = leafIdModel(model, tree);
      const onnx = await scoreBatch(await load(ids), probe32, n, COLS);
      const forest = flattenTrees(ids.trees);
      for (let r = 0; r < n; r++) expect(onnx[r]).toBe(leafOf(forest, 0, probe32, r * COLS));
    }
    const full = await scoreBatch(await load(model), probe32, n, COLS);
    expect(maxAbsDiff(full, predictGbtBatch(model, probe32, n))).toBeLessThanOrEqual(1e-5);
  });

  test("x < threshold goes left (BRANCH_LT); NaN follows defaultLeft", async () => {
    for (const defaultLeft of [true, false]) {
      const m = gbtModel();
      m.trees = [
        {
          feature: [0, -1, -1],
          threshold: [0.5, 0, 0],
          left: [1, -1, -1],
          right: [2, -1, -1],
          defaultLeft: [defaultLeft, false, false],
          leafValue: [0, -1, 1],
          gain: [1, 0, 0],
          cover: [2, 1, 1],
        },
      ];
      const rows = [0.5, 0, float32Step(0.5, -1), 0, float32Step(0.5, 1), 0, Number.NaN, 0];
      const expected = [1, -1, 1, defaultLeft ? -1 : 1];
      const onnx = await scoreBatch(await load(m), Float32Array.from(rows), 4, 2);
      expect(Array.from(onnx)).toEqual(expected);
      expect(Array.from(predictGbtBatch(m, rows, 4))).toEqual(expected);
    }
  });

  test("a model without trees exports as its base score", async () => {
    const m = { ...gbtModel(), baseScore: 42.5 };
    expect(Array.from(await scoreBatch(await load(m), new Float32Array(4), 2, 2))).toEqual([
      42.5, 42.5,
    ]);
  });
});

describe("logistic parity with onnxruntime", () => {
  test("probabilities agree to 1e-5 on every row of a 10k-row test set", async () => {
    const model = trainLogistic(syntheticBinary({ rows: 20_000, cols: COLS, seed: 41 }));
    const rows32 = Float32Array.from(syntheticBinary({ rows: TEST_ROWS, cols: COLS, seed: 42 }).x);
    const onnx = await scoreBatch(await load(model), rows32, TEST_ROWS, COLS);
    const ts = predictLogisticBatch(model, rows32, TEST_ROWS);
    expect(maxAbsDiff(onnx, ts)).toBeLessThanOrEqual(1e-5);
  });
});
