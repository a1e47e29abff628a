/**
 * Real models for the inference tests and benchmark, built by the project's own trainers, and a
 * probe around a scorer that counts onnxruntime calls or makes one fail inside onnxruntime.
 * Not used by the platform.
 */
import * as ort from "onnxruntime-node";
import { exportOnnx } from "../../models/onnx/export.ts";
import { INPUT_NAME } from "../../models/onnx/metadata.ts";
import { loadOnnx, type OnnxScorer } from "../../models/onnx/session.ts";
import { type GbtParams, trainGbt } from "../../models/trainers/gbt.ts";
import { syntheticBinary } from "../../models/trainers/synthetic.ts";

/** ONNX bytes of a GBT trained on `syntheticBinary` data; another seed makes another model. */
export function gbtBytes(options: {
  cols: number;
  rows: number;
  seed: number;
  params?: Partial<GbtParams>;
}): Uint8Array {
  const ds = syntheticBinary({ rows: options.rows, cols: options.cols, seed: options.seed });
  return exportOnnx(
    trainGbt(ds, { rounds: 10, maxDepth: 3, seed: options.seed, ...options.params }),
  );
}

/** Feature names the fixtures' models use: f0, f1, … */
export function featureNames(cols: number): string[] {
  return Array.from({ length: cols }, (_, c) => `f${c}`);
}

/** Rows to score: `syntheticBinary` features as float32, row-major. */
export function evalRows(rows: number, cols: number, seed: number): Float32Array {
  return Float32Array.from(syntheticBinary({ rows, cols, seed }).x);
}

export function load(bytes: Uint8Array, cols: number): Promise<OnnxScorer> {
  return loadOnnx(bytes, { featureNames: featureNames(cols) });
}

/** What a probed scorer saw, and what it should do next. */
export interface Probe {
  /** Rows of each onnxruntime call, in order. */
  readonly calls: number[];
  /** The next this-many calls fail inside onnxruntime (a feed of the wrong shape). */
  failNext: number;
  /** Called at the start of each call, while the batch is in flight. */
  onRun?: (rows: number) => void;
}

export function newProbe(): Probe {
  return { calls: [], failNext: 0 };
}

/**
 * `scorer` with its session's `run` observed by `probe`. The session is the real one (through the
 * prototype chain), so `release` frees it and a failure is a genuine onnxruntime error.
 */
export function probed(scorer: OnnxScorer, probe: Probe): OnnxScorer {
  const session = Object.create(scorer.session) as ort.InferenceSession;
  const run = scorer.session.run.bind(scorer.session);
  session.run = ((feeds: ort.InferenceSession.FeedsType, ...rest: unknown[]) => {
    const input = feeds[INPUT_NAME] as ort.Tensor;
    const rows = input.dims[0] as number;
    probe.calls.push(rows);
    probe.onRun?.(rows);
    if (probe.failNext > 0) {
      probe.failNext--;
      const wrong = new ort.Tensor("float32", new Float32Array(rows), [rows, 1]);
      return run({ [INPUT_NAME]: wrong });
    }
    return (run as (...args: unknown[]) => ReturnType<typeof run>)(feeds, ...rest);
  }) as typeof session.run;
  return { ...scorer, session };
}
