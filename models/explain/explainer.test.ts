/**
 * Explanations of exported models, read back from their ONNX bytes: for every row they add up to
 * the score the model gives (the TypeScript predictor's margin, and onnxruntime's probability),
 * the trees read from ONNX are exactly the trees trained, and a model exported before node covers
 * existed says so instead of explaining wrongly.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { exportOnnx, IR_VERSION, OPSETS } from "../onnx/export.ts";
import { gbtGraph } from "../onnx/gbt-graph.ts";
import { type AttributeSpec, encodeGraph, encodeModel } from "../onnx/onnx-proto.ts";
import { loadOnnx, type OnnxScorer, releaseOnnx, scoreBatch } from "../onnx/session.ts";
import { trainGbt } from "../trainers/gbt.ts";
import { predictGbtRaw } from "../trainers/gbt-predict.ts";
import { predictLogistic, trainLogistic } from "../trainers/logistic.ts";
import { syntheticBinary } from "../trainers/synthetic.ts";
import {
  ExplanationUnavailableError,
  explainerFromOnnx,
  explainRow,
  type ModelExplainer,
  reasonsOf,
} from "./explainer.ts";
import { TreeExplainer } from "./tree-shap.ts";

const COLS = 10;
const ROWS = 400;
const train = syntheticBinary({ rows: 6000, cols: COLS, seed: 11, missingRate: 0.05 });
const rows = syntheticBinary({ rows: ROWS, cols: COLS, seed: 12, missingRate: 0.05 });
const gbt = trainGbt(train, { rounds: 80, maxDepth: 5, learningRate: 0.2, seed: 3 });
const scorers: OnnxScorer[] = [];
afterAll(async () => {
  for (const scorer of scorers) await releaseOnnx(scorer);
});

function row(i: number): Float32Array {
  return Float32Array.from(rows.x.subarray(i * COLS, (i + 1) * COLS));
}

function explainedMargin(explainer: ModelExplainer, x: ArrayLike<number>): number {
  const out = new Float64Array(COLS);
  explainer.contributions(x, out);
  return out.reduce((sum, c) => sum + c, explainer.expectedValue);
}

function closeTo(actual: number, expected: number, relative: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(
    relative * Math.max(1, Math.abs(expected)),
  );
}

describe("gradient-boosted trees", () => {
  const onnx = exportOnnx(gbt);
  const explainer = explainerFromOnnx(onnx, gbt.featureNames);

  test("contributions add up to the model's margin on every row, and to onnxruntime's score", async () => {
    const scorer = await loadOnnx(onnx, { featureNames: gbt.featureNames });
    scorers.push(scorer);
    const batch = Float32Array.from(rows.x);
    const served = await scoreBatch(scorer, batch, ROWS, COLS);
    for (let i = 0; i < ROWS; i++) {
      const margin = explainedMargin(explainer, row(i));
      closeTo(margin, predictGbtRaw(gbt, row(i)), 1e-9);
      // onnxruntime's probability is float32: compare probabilities, as the parity tests do.
      closeTo(1 / (1 + Math.exp(-margin)), served[i] as number, 1e-6);
    }
  });

  test("the trees read back from ONNX are the trees trained, covers included", () => {
    const direct = new TreeExplainer(
      gbt.trees.map((t) => ({ ...t, value: t.leafValue })),
      COLS,
    );
    expect(explainer.expectedValue).toBe(direct.expectedValue + gbt.baseScore);
    const fromOnnx = new Float64Array(COLS);
    const fromTrees = new Float64Array(COLS);
    for (let i = 0; i < 50; i++) {
      explainer.contributions(row(i), fromOnnx);
      direct.shap(row(i), fromTrees);
      expect(Array.from(fromOnnx)).toEqual(Array.from(fromTrees));
    }
  });

  test("a row explained: every feature once, largest first; reasons are the positive ones", () => {
    const x = row(0);
    const all = explainRow(explainer, x);
    expect(all.map((c) => c.feature).sort()).toEqual([...gbt.featureNames].sort());
    for (let i = 1; i < all.length; i++) {
      expect(Math.abs(all[i - 1]?.contribution ?? 0)).toBeGreaterThanOrEqual(
        Math.abs(all[i]?.contribution ?? 0),
      );
    }
    const reasons = reasonsOf(explainer, x, 3);
    const positive = all
      .filter((c) => c.contribution > 0)
      .sort((a, b) => b.contribution - a.contribution);
    expect(reasons).toEqual(positive.slice(0, 3));
  });

  /** The model's ONNX bytes with its tree ensemble's attributes changed by `edit`. */
  function edited(edit: (attributes: AttributeSpec[]) => AttributeSpec[]): Uint8Array {
    const spec = gbtGraph(gbt);
    const nodes = spec.nodes.map((node) => ({ ...node, attributes: edit(node.attributes ?? []) }));
    return encodeModel(
      {
        irVersion: IR_VERSION,
        opsets: OPSETS,
        producerName: "old",
        producerVersion: "0",
        metadata: {},
      },
      encodeGraph({ ...spec, nodes }),
    );
  }

  test("a model exported before node covers existed is refused with the way out", () => {
    const old = edited((attributes) =>
      attributes.filter((a) => !a.name.startsWith("nodes_hitrates")),
    );
    expect(() => explainerFromOnnx(old, gbt.featureNames)).toThrow(ExplanationUnavailableError);
    expect(() => explainerFromOnnx(old, gbt.featureNames)).toThrow(/node covers.*retrain/);
  });

  test("a damaged ensemble is refused, naming what is wrong, without allocating for it", () => {
    const hugeTreeId = edited((attributes) =>
      attributes.map((a) =>
        a.name === "nodes_treeids" && a.type === "ints"
          ? { ...a, value: [1e9, ...Array.from(a.value).slice(1)] }
          : a,
      ),
    );
    expect(() => explainerFromOnnx(hugeTreeId, gbt.featureNames)).toThrow(/tree id 1000000000/);
    const weightOnSplit = edited((attributes) =>
      attributes.map((a) =>
        a.name === "target_nodeids" && a.type === "ints"
          ? { ...a, value: Array.from(a.value).fill(0) }
          : a,
      ),
    );
    expect(() => explainerFromOnnx(weightOnSplit, gbt.featureNames)).toThrow(/not a leaf/);
  });
});

test("a regression's trees explain its prediction itself, not log-odds", () => {
  const model = trainGbt(train, { objective: "regression", rounds: 30, maxDepth: 4, seed: 3 });
  const explainer = explainerFromOnnx(exportOnnx(model), model.featureNames);
  expect(explainer.unit).toBe("prediction");
  expect(explainerFromOnnx(exportOnnx(gbt), gbt.featureNames).unit).toBe("log-odds");
  for (let i = 0; i < 50; i++)
    closeTo(explainedMargin(explainer, row(i)), predictGbtRaw(model, row(i)), 1e-9);
});

describe("logistic regression", () => {
  // Logistic regression needs every feature present.
  const complete = syntheticBinary({ rows: 6000, cols: COLS, seed: 13 });
  const model = trainLogistic(complete);
  const explainer = explainerFromOnnx(exportOnnx(model), model.featureNames);

  test("contributions are weight × standardised value and add up to the margin", () => {
    const out = new Float64Array(COLS);
    for (let i = 0; i < ROWS; i++) {
      const x = row(i).map((v) => (Number.isNaN(v) ? 0 : v));
      explainer.contributions(x, out);
      for (let c = 0; c < COLS; c++) {
        const z =
          (Math.fround(x[c] as number) - (model.mean[c] as number)) / (model.std[c] as number);
        closeTo(out[c] as number, (model.weights[c] as number) * z, 1e-12);
      }
      const p = predictLogistic(model, x);
      closeTo(explainedMargin(explainer, x), Math.log(p / (1 - p)), 1e-9);
    }
    expect(explainer.expectedValue).toBe(model.bias);
    expect(explainer.unit).toBe("log-odds");
  });
});
