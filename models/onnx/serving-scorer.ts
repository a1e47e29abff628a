/**
 * `loadOnnxForServing`: the scorer the inference actor serves with. It holds one model in two
 * onnxruntime sessions, one on the calling thread and one in a worker thread (`loadOnnxInWorker`),
 * and sends each batch to one of them by its size:
 *
 * - a batch of at most `inlineRowsMax` rows runs on the calling thread. At a steady 10k events/s
 *   the shards' batches are a few rows each; the worker's round trip (post, wake the worker,
 *   onnxruntime, post back, wake the event loop) cost each of them ~0.4 ms at the median and more
 *   in the tail, when the worker or the event loop waited for one of the two cores. Inline, a
 *   batch of a few rows costs a few tens of µs of the event loop, less than the round trip's own
 *   posting and message handling. Measured with `bun run bench -- e2e-fraud`
 *   (docs/performance.md).
 * - a larger batch goes to the worker: under load the batches grow to hundreds of rows
 *   (milliseconds of scoring), which would stall every shard on the event loop while the other
 *   core could score them.
 *
 * Every prediction is still onnxruntime's, on the same bytes, checked the same way (`loadOnnx`'s
 * checks run in both sessions). A batch's rows all go to one session, so a request's scores come
 * from one run. A large batch the worker fails (it died, or did not answer in time) is scored
 * inline instead: the worker is an optimisation, not a second point of failure.
 */
import type * as ort from "onnxruntime-node";
import { INPUT_NAME } from "./metadata.ts";
import { type LoadOptions, loadOnnx, type OnnxScorer, type ScoringSession } from "./session.ts";
import { loadOnnxInWorker } from "./worker-scorer.ts";

/**
 * Rows up to which a batch is scored on the calling thread. 32 rows of a 400-tree model (the
 * trainer's largest) take ~0.35 ms; after a 5-ms stall at 10k events/s a shard's batch is ~17 rows.
 */
export const INLINE_ROWS_MAX_DEFAULT = 32;
/** Past this, inline scoring would hold the event loop for milliseconds: use the worker. */
const INLINE_ROWS_LIMIT = 256;

export interface ServingLoadOptions extends LoadOptions {
  /** Batches of at most this many rows run on the calling thread; 0 sends every batch to the worker. */
  inlineRowsMax?: number;
}

/** Sends each batch to the inline session or the worker's by its row count. */
export class SplitSession implements ScoringSession {
  constructor(
    private readonly inline: ScoringSession,
    private readonly worker: ScoringSession,
    private readonly inlineRowsMax: number,
  ) {}

  run(feeds: Record<string, ort.Tensor>): Promise<Record<string, { data: unknown } | undefined>> {
    const rows = feeds[INPUT_NAME]?.dims[0] ?? Number.POSITIVE_INFINITY;
    if (rows <= this.inlineRowsMax) return this.inline.run(feeds);
    // A worker that died or timed out: the same model scores the batch inline, slower for the
    // event loop but scored. A batch the model itself refuses fails inline too, as it should.
    return this.worker.run(feeds).catch(() => this.inline.run(feeds));
  }

  async release(): Promise<void> {
    const results = await Promise.allSettled([this.inline.release(), this.worker.release()]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  }
}

/**
 * Loads and checks `bytes` for serving (see the module comment). Rejects with the same
 * `OnnxModelError`s as `loadOnnx`.
 */
export async function loadOnnxForServing(
  bytes: Uint8Array,
  expected: { featureNames: readonly string[] },
  options: ServingLoadOptions = {},
): Promise<OnnxScorer> {
  const inlineRowsMax = options.inlineRowsMax ?? INLINE_ROWS_MAX_DEFAULT;
  if (!Number.isInteger(inlineRowsMax) || inlineRowsMax < 0 || inlineRowsMax > INLINE_ROWS_LIMIT) {
    throw new RangeError(
      `inlineRowsMax: ${inlineRowsMax}; expected an integer in [0, ${INLINE_ROWS_LIMIT}]`,
    );
  }
  const worker = await loadOnnxInWorker(bytes, expected, options);
  if (inlineRowsMax === 0) return worker;
  let inline: OnnxScorer;
  try {
    inline = await loadOnnx(bytes, expected, options);
  } catch (error) {
    await worker.session.release().catch(() => {});
    throw error;
  }
  return { ...worker, session: new SplitSession(inline.session, worker.session, inlineRowsMax) };
}
