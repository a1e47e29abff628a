/** Messages between `loadOnnxInWorker` (the main thread) and `scoring-worker.ts`. */
import type { OnnxRejection } from "./session.ts";

export type ToWorker =
  | { type: "load"; bytes: Uint8Array; featureNames: string[]; intraOpThreads: number }
  | { type: "score"; id: number; rows: Float32Array; n: number; cols: number }
  | { type: "release" };

export type FromWorker =
  | {
      type: "loaded";
      kind: string;
      task: string;
      featureNames: string[];
      outputName: string;
      metadata: [string, string][];
    }
  | { type: "load-failed"; reason: OnnxRejection; message: string }
  | { type: "scored"; id: number; out: Float32Array }
  | { type: "score-failed"; id: number; message: string }
  | { type: "released" };
