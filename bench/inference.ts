/**
 * Inference benchmarks (`bun bench/inference.ts`): onnxruntime-node latency for one row and for a
 * micro-batch of 256 rows (p50/p99 over many calls, and per row), for a 150-tree GBT and for
 * logistic regression, next to the pure TypeScript predictors on the same rows, and the cost of
 * explaining one row (SHAP values, models/explain) as a ratio to scoring it. Sessions use one
 * intra-op thread, as in the platform.
 */
import { explainerFromOnnx } from "../models/explain/explainer.ts";
import { exportOnnx } from "../models/onnx/export.ts";
import { loadOnnx, releaseOnnx, scoreBatch } from "../models/onnx/session.ts";
import { trainGbt } from "../models/trainers/gbt.ts";
import { predictGbtBatch, predictGbtProba } from "../models/trainers/gbt-predict.ts";
import {
  predictLogistic,
  predictLogisticBatch,
  trainLogistic,
} from "../models/trainers/logistic.ts";
import type { TrainedModel } from "../models/trainers/predict.ts";
import { syntheticBinary } from "../models/trainers/synthetic.ts";
import { quantile } from "./support/stats.ts";

const COLS = 30;
const BATCH = 256;
const SINGLE_CALLS = 20_000;
const BATCH_CALLS = 2_000;
const EXPLAIN_CALLS = 2_000;
const WARMUP_CALLS = 500;

/** p50 and p99 in µs of `calls` runs of `fn`, after a warm-up. */
async function latency(calls: number, fn: (i: number) => unknown): Promise<[number, number]> {
  for (let i = 0; i < WARMUP_CALLS; i++) await fn(i);
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await fn(i);
    times.push((performance.now() - t) * 1000);
  }
  times.sort((a, b) => a - b);
  return [quantile(times, 0.5), quantile(times, 0.99)];
}

function line(name: string, [p50, p99]: [number, number], rows: number): void {
  const perRow = rows > 1 ? `; per row p50 ${(p50 / rows).toFixed(2)} µs` : "";
  console.log(`${name}: p50 ${p50.toFixed(1)} µs, p99 ${p99.toFixed(1)} µs${perRow}`);
}

const rows = syntheticBinary({ rows: 20_000, cols: COLS, seed: 2 });
const x32 = Float32Array.from(rows.x);
const gbt = trainGbt(syntheticBinary({ rows: 50_000, cols: COLS, seed: 1, missingRate: 0.02 }), {
  rounds: 150,
  maxDepth: 6,
});
const logistic = trainLogistic(syntheticBinary({ rows: 50_000, cols: COLS, seed: 1 }));
const nBatches = Math.floor(rows.rows / BATCH);
const rowAt = (i: number) => (i % rows.rows) * COLS;
const batchAt = (i: number) =>
  x32.subarray((i % nBatches) * BATCH * COLS, ((i % nBatches) + 1) * BATCH * COLS);

const models: [string, TrainedModel][] = [
  [`gbt(${gbt.trees.length} trees, depth 6)`, gbt],
  ["logistic", logistic],
];
for (const [name, model] of models) {
  const onnx = exportOnnx(model);
  const scorer = await loadOnnx(onnx, { featureNames: model.featureNames });
  const onnxOneRow = await latency(SINGLE_CALLS, (i) =>
    scoreBatch(scorer, x32.subarray(rowAt(i), rowAt(i) + COLS), 1, COLS),
  );
  line(`onnx.${name} 1 row`, onnxOneRow, 1);
  line(
    `onnx.${name} batch ${BATCH}`,
    await latency(BATCH_CALLS, (i) => scoreBatch(scorer, batchAt(i), BATCH, COLS)),
    BATCH,
  );
  const one =
    model.kind === "gbt"
      ? (i: number) => predictGbtProba(model, x32, rowAt(i))
      : (i: number) => predictLogistic(model, x32, rowAt(i));
  const batch =
    model.kind === "gbt"
      ? (i: number) => predictGbtBatch(model, batchAt(i), BATCH)
      : (i: number) => predictLogisticBatch(model, batchAt(i), BATCH);
  line(`ts.${name} 1 row`, await latency(SINGLE_CALLS, one), 1);
  line(`ts.${name} batch ${BATCH}`, await latency(BATCH_CALLS, batch), BATCH);
  const explainer = explainerFromOnnx(onnx, model.featureNames);
  const contributions = new Float64Array(COLS);
  const explained = await latency(EXPLAIN_CALLS, (i) =>
    explainer.contributions(x32.subarray(rowAt(i), rowAt(i) + COLS), contributions),
  );
  line(`explain.${name} 1 row (SHAP values)`, explained, 1);
  console.log(
    `explain.${name}: ${(explained[0] / onnxOneRow[0]).toFixed(1)}× the ONNX one-row score (p50)`,
  );
  await releaseOnnx(scorer);
}
