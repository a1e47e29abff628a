/**
 * `loadOnnxInWorker`: the same checked model as `loadOnnx`, run by onnxruntime in a worker
 * thread of its own. onnxruntime-node's `run` holds its thread for the whole inference, so a
 * model on the main thread stalls every shard while it scores (≈2 ms for 256 rows of a 300-tree
 * model); in a worker the main thread goes on with features and I/O while the other core scores.
 *
 * The returned scorer works with `scoreBatch` and `releaseOnnx` like any other: its `session`
 * posts each batch to the worker (a copy of n·cols floats) and gets the scores back (a transfer).
 * Bounded: at most `SCORES_IN_FLIGHT_MAX` batches wait in the worker, each for at most
 * `SCORE_TIMEOUT_MS`; a worker that dies fails what it holds and every later call.
 */
import type * as ort from "onnxruntime-node";
import { INPUT_NAME } from "./metadata.ts";
import {
  type LoadOptions,
  OnnxModelError,
  type OnnxScorer,
  type ScoringSession,
} from "./session.ts";
import type { FromWorker, ToWorker } from "./worker-protocol.ts";

const SCORES_IN_FLIGHT_MAX = 64;
const SCORE_TIMEOUT_MS = 30_000;
const LOAD_TIMEOUT_MS = 60_000;

interface Waiting {
  resolve: (out: Float32Array) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

class WorkerSession implements ScoringSession {
  readonly inputNames = [INPUT_NAME];
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();
  private dead: Error | null = null;
  private releasing: Promise<void> | null = null;
  private onReleased: (() => void) | null = null;

  constructor(
    private readonly worker: Worker,
    readonly outputNames: string[],
  ) {
    worker.addEventListener("message", (event: MessageEvent<FromWorker>) => {
      const message = event.data;
      if (message.type === "scored" || message.type === "score-failed") {
        const entry = this.waiting.get(message.id);
        if (!entry) return;
        this.waiting.delete(message.id);
        clearTimeout(entry.timer);
        if (message.type === "scored") entry.resolve(message.out);
        else entry.reject(new Error(message.message));
      } else if (message.type === "released") {
        this.onReleased?.();
      }
    });
    worker.addEventListener("error", (event: ErrorEvent) => {
      this.fail(new Error(`the scoring worker failed: ${event.message}`));
    });
  }

  private fail(error: Error): void {
    this.dead ??= error;
    for (const [id, entry] of this.waiting) {
      clearTimeout(entry.timer);
      entry.reject(error);
      this.waiting.delete(id);
    }
    this.onReleased?.();
  }

  run(feeds: Record<string, ort.Tensor>): Promise<Record<string, { data: Float32Array }>> {
    const input = feeds[INPUT_NAME];
    if (this.dead) return Promise.reject(this.dead);
    if (this.releasing) return Promise.reject(new Error("the scorer was released"));
    if (!input || !(input.data instanceof Float32Array) || input.dims.length !== 2) {
      return Promise.reject(new Error(`expected a float32 [n, cols] tensor named ${INPUT_NAME}`));
    }
    if (this.waiting.size >= SCORES_IN_FLIGHT_MAX) {
      return Promise.reject(
        new Error(`more than ${SCORES_IN_FLIGHT_MAX} batches are waiting for the scoring worker`),
      );
    }
    const [n, cols] = input.dims as [number, number];
    // A copy: the caller's buffer (a reused row ring) must stay with the caller.
    const rows = input.data.slice(0, n * cols);
    const id = this.nextId++;
    const outputName = this.outputNames[0] as string;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`the scoring worker did not answer within ${SCORE_TIMEOUT_MS} ms`));
      }, SCORE_TIMEOUT_MS);
      this.waiting.set(id, {
        resolve: (out) => resolve({ [outputName]: { data: out } }),
        reject,
        timer,
      });
      const message: ToWorker = { type: "score", id, rows, n, cols };
      this.worker.postMessage(message, [rows.buffer as ArrayBuffer]);
    });
  }

  release(): Promise<void> {
    this.releasing ??= new Promise<void>((resolve) => {
      const done = () => {
        this.worker.terminate();
        resolve();
      };
      if (this.dead) return done();
      const timer = setTimeout(done, 5_000);
      this.onReleased = () => {
        clearTimeout(timer);
        done();
      };
      this.worker.postMessage({ type: "release" } satisfies ToWorker);
    });
    return this.releasing;
  }
}

/**
 * Loads and checks `bytes` in a new worker thread (the checks of `loadOnnx`, which throws the
 * same `OnnxModelError`s); resolves when the model answered its test inference.
 */
export async function loadOnnxInWorker(
  bytes: Uint8Array,
  expected: { featureNames: readonly string[] },
  options: LoadOptions = {},
): Promise<OnnxScorer> {
  const worker = new Worker(new URL("./scoring-worker.ts", import.meta.url).href);
  try {
    const loaded = await new Promise<Extract<FromWorker, { type: "loaded" }>>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new OnnxModelError(
              "runtime",
              `the scoring worker did not load it within ${LOAD_TIMEOUT_MS} ms`,
            ),
          ),
        LOAD_TIMEOUT_MS,
      );
      const onMessage = (event: MessageEvent<FromWorker>) => {
        const message = event.data;
        if (message.type !== "loaded" && message.type !== "load-failed") return;
        clearTimeout(timer);
        worker.removeEventListener("message", onMessage);
        if (message.type === "loaded") resolve(message);
        else reject(new OnnxModelError(message.reason, message.message));
      };
      worker.addEventListener("message", onMessage);
      worker.addEventListener("error", (event: ErrorEvent) => {
        clearTimeout(timer);
        reject(new OnnxModelError("runtime", `the scoring worker failed: ${event.message}`));
      });
      const message: ToWorker = {
        type: "load",
        bytes,
        featureNames: [...expected.featureNames],
        intraOpThreads: options.intraOpThreads ?? 1,
      };
      worker.postMessage(message);
    });
    return {
      session: new WorkerSession(worker, [loaded.outputName]),
      kind: loaded.kind,
      task: loaded.task,
      featureNames: loaded.featureNames,
      cols: loaded.featureNames.length,
      outputName: loaded.outputName,
      metadata: new Map(loaded.metadata),
    };
  } catch (error) {
    worker.terminate();
    throw error;
  }
}
