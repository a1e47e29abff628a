/**
 * The worker thread of a retraining run: trains one GBT per parameter set on the training rows,
 * early-stopped and judged on the tuning rows (PR-AUC), and exports the best to ONNX. It runs off
 * the event loop (`new Worker`), so the platform keeps scoring while it trains.
 *
 * Protocol: the parent posts one {@link TrainJob}; the worker posts `progress` messages and then
 * one `done` (or `error`) and exits.
 */

import { runAsBackgroundThread } from "../../runtime/thread-priority.ts";
import { buildDriftReference, type DriftReference } from "../drift/reference.ts";
import { importanceMetrics } from "../explain/importance.ts";
import { exportOnnx } from "../onnx/export.ts";
import type { Dataset } from "../trainers/dataset.ts";
import { type GbtParams, trainGbt } from "../trainers/gbt.ts";
import { averagePrecision } from "../trainers/metrics.ts";
import { predictBatch } from "../trainers/predict.ts";

export interface TrainJob {
  names: string[];
  cols: number;
  /** Row-major features of the training rows then the tuning rows. */
  x: Float32Array;
  y: Float64Array;
  trainRows: number;
  tuneRows: number;
  candidates: GbtParams[];
  seed: number;
  metadata: Record<string, string>;
  /** Build the drift reference here (off the event loop): its categorical and excluded features. */
  reference?: { categorical: string[]; exclude: string[] };
}

export type TrainMessage =
  | { type: "progress"; done: number; total: number; params: GbtParams; tunePrAuc: number }
  | {
      type: "done";
      onnx: Uint8Array;
      params: Record<string, unknown>;
      best: number;
      tunePrAuc: number;
      trainLoss: number;
      results: { params: GbtParams; tunePrAuc: number; trees: number }[];
      /** Bins of the training rows, the best model's scores on the tuning rows. */
      reference: DriftReference | null;
      /** What the best model relies on, on the tuning rows (`importance.*` metrics). */
      importance: Record<string, number>;
    }
  | { type: "error"; message: string };

function dataset(job: TrainJob, from: number, rows: number): Dataset {
  const x = new Float64Array(rows * job.cols);
  for (let i = 0; i < x.length; i++) x[i] = job.x[from * job.cols + i] as number;
  return { featureNames: job.names, rows, cols: job.cols, x, y: job.y.slice(from, from + rows) };
}

/** Runs a job in this thread (the worker calls it; tests may too). */
export function runTrainJob(job: TrainJob, post: (message: TrainMessage) => void): void {
  const train = dataset(job, 0, job.trainRows);
  const tune = dataset(job, job.trainRows, job.tuneRows);
  let best = -1;
  let bestPrAuc = Number.NEGATIVE_INFINITY;
  let bestModel: ReturnType<typeof trainGbt> | null = null;
  const results: { params: GbtParams; tunePrAuc: number; trees: number }[] = [];
  job.candidates.forEach((params, i) => {
    const model = trainGbt(train, { ...params, seed: job.seed + i }, tune);
    const scores = predictBatch(model, tune.x, tune.rows);
    const prAuc = averagePrecision(scores, tune.y);
    const value = Number.isNaN(prAuc) ? 0 : prAuc;
    results.push({ params, tunePrAuc: value, trees: model.trees.length });
    if (value > bestPrAuc) {
      bestPrAuc = value;
      best = i;
      bestModel = model;
    }
    post({ type: "progress", done: i + 1, total: job.candidates.length, params, tunePrAuc: value });
  });
  const model = bestModel as ReturnType<typeof trainGbt> | null;
  if (!model) throw new Error("no candidate was trained");
  const reference = job.reference
    ? buildDriftReference({
        x: train.x,
        rows: train.rows,
        names: job.names,
        categorical: new Set(job.reference.categorical),
        exclude: new Set(job.reference.exclude),
        scores: predictBatch(model, tune.x, tune.rows),
      })
    : null;
  const onnx = exportOnnx(model, { metadata: job.metadata });
  post({
    type: "done",
    onnx,
    params: { ...model.params, bestIteration: model.bestIteration },
    best,
    tunePrAuc: bestPrAuc,
    trainLoss: model.history.train[model.history.train.length - 1] ?? Number.NaN,
    results,
    reference,
    // Explained here, off the event loop: ~0.5 s for a few hundred trees.
    importance: importanceMetrics(onnx, job.names, tune.x, tune.y, tune.rows),
  });
}

declare const self: Worker;

// Only when loaded as a worker (Bun sets `Bun.isMainThread` false there).
if (!Bun.isMainThread) {
  // Retraining must not slow serving: it gets the cores the shards and the scorer leave idle.
  runAsBackgroundThread();
  self.onmessage = (event: MessageEvent<TrainJob>) => {
    try {
      runTrainJob(event.data, (message) => self.postMessage(message));
    } catch (error) {
      self.postMessage({ type: "error", message: (error as Error).stack ?? String(error) });
    }
  };
}
