/**
 * Runs a {@link TrainJob} in a worker thread with a time limit, relaying its progress. The worker
 * is terminated when it finishes, fails, or runs out of time, so a stuck training never lingers.
 */
import { CoelhoError } from "../../runtime/errors.ts";
import type { TrainJob, TrainMessage } from "./train-worker.ts";

export type TrainResult = Extract<TrainMessage, { type: "done" }>;
export type TrainProgress = Extract<TrainMessage, { type: "progress" }>;

export function trainInWorker(
  job: TrainJob,
  options: { timeoutMs: number; onProgress?: (p: TrainProgress) => void },
): Promise<TrainResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./train-worker.ts", import.meta.url));
    const timer = setTimeout(() => {
      worker.terminate();
      reject(
        new CoelhoError(
          "training_timeout",
          `training did not finish within ${options.timeoutMs} ms; the worker was stopped (fewer rows or candidates would be faster)`,
        ),
      );
    }, options.timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      worker.terminate();
    };
    worker.onmessage = (event: MessageEvent<TrainMessage>) => {
      const message = event.data;
      if (message.type === "progress") options.onProgress?.(message);
      else if (message.type === "done") {
        finish();
        resolve(message);
      } else {
        finish();
        reject(
          new CoelhoError("training_failed", `training failed in its worker: ${message.message}`),
        );
      }
    };
    worker.onerror = (event) => {
      finish();
      reject(new CoelhoError("training_failed", `training worker crashed: ${event.message}`));
    };
    // The rows are transferred, not copied: the caller's arrays are left detached.
    worker.postMessage(job, [job.x.buffer as ArrayBuffer, job.y.buffer as ArrayBuffer]);
  });
}
