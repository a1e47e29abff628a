/**
 * The worker thread behind `loadOnnxInWorker`: it loads one model with `loadOnnx` (every check
 * runs here) and scores the batches the main thread posts, one at a time. onnxruntime-node's
 * `run` holds the calling thread for the whole inference (≈8 µs a row for 300 trees), so on the
 * main thread it would stall the shards' event loop; here it uses the pod's other core.
 */
import { loadOnnx, OnnxModelError, type OnnxScorer, releaseOnnx, scoreBatch } from "./session.ts";
import type { ToWorker } from "./worker-protocol.ts";

declare const self: Worker;

let scorer: OnnxScorer | null = null;

self.onmessage = async (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  switch (message.type) {
    case "load": {
      try {
        scorer = await loadOnnx(
          message.bytes,
          { featureNames: message.featureNames },
          {
            intraOpThreads: message.intraOpThreads,
          },
        );
        self.postMessage({
          type: "loaded",
          kind: scorer.kind,
          task: scorer.task,
          featureNames: [...scorer.featureNames],
          outputName: scorer.outputName,
          metadata: [...scorer.metadata],
        });
      } catch (error) {
        const reason = error instanceof OnnxModelError ? error.reason : "runtime";
        const text =
          error instanceof OnnxModelError
            ? error.message.replace(/^ONNX model rejected \([a-z]+\): /, "")
            : String((error as Error)?.message ?? error);
        self.postMessage({ type: "load-failed", reason, message: text });
      }
      return;
    }
    case "score": {
      try {
        if (!scorer) throw new Error("no model loaded");
        const out = await scoreBatch(scorer, message.rows, message.n, message.cols);
        // A fresh array per call (scoreBatch's contract): hand its buffer over, no copy.
        self.postMessage({ type: "scored", id: message.id, out }, [out.buffer as ArrayBuffer]);
      } catch (error) {
        self.postMessage({
          type: "score-failed",
          id: message.id,
          message: String((error as Error)?.message ?? error),
        });
      }
      return;
    }
    case "release": {
      if (scorer) await releaseOnnx(scorer).catch(() => {});
      scorer = null;
      self.postMessage({ type: "released" });
      return;
    }
  }
};
