/**
 * `loadOnnxForServing`: the scorer the inference actor serves with. It holds one model in two
 * onnxruntime sessions, one in a worker thread (`loadOnnxInWorker`) and one on the calling thread,
 * and sends each batch to one of them by its size:
 *
 * - by default every batch goes to the worker (`inlineRowsMax` 0). At steady state the event loop
 *   is what the slowest events wait for (docs/performance.md, tenth sitting: ~80 % of the events
 *   over 5 ms overlap a stall of the loop), and onnxruntime's runs were ~13 % of its samples; in
 *   five alternating pairs of 60-s runs of `bun run bench -- e2e-fraud`, every batch in the worker
 *   put fewer events over 5 ms in four and used less of the loop's CPU in four.
 * - a batch of at most `inlineRowsMax` rows may run on the calling thread instead: it skips the
 *   worker's round trip (post, wake the worker, onnxruntime, post back, wake the event loop),
 *   which short runs of the eighth sitting favoured (32 then).
 *
 * Every prediction is still onnxruntime's, on the same bytes, checked the same way (`loadOnnx`'s
 * checks run in both sessions). A batch's rows all go to one session, so a request's scores come
 * from one run. A batch the worker fails (it died, or did not answer in time) is scored on the
 * calling thread instead: the worker is an optimisation, not a second point of failure.
 */
import type * as ort from "onnxruntime-node";
import { INPUT_NAME } from "./metadata.ts";
import { type LoadOptions, loadOnnx, type OnnxScorer, type ScoringSession } from "./session.ts";
import { loadOnnxInWorker } from "./worker-scorer.ts";

/**
 * Rows up to which a batch is scored on the calling thread: none by default (see above). 32 rows
 * of a 400-tree model (the trainer's largest) take ~0.35 ms of that thread.
 */
export const INLINE_ROWS_MAX_DEFAULT = 0;
/** Past this, inline scoring would hold the event loop for milliseconds: use the worker. */
const INLINE_ROWS_LIMIT = 256;

export interface ServingLoadOptions extends LoadOptions {
  /**
   * Batches of at most this many rows run on the calling thread; 0 (the default) sends every batch
   * to the worker. Either way a batch the worker fails is scored on the calling thread.
   */
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
  // Loaded whatever the limit: it is the fallback for the batches the worker fails.
  let inline: OnnxScorer;
  try {
    inline = await loadOnnx(bytes, expected, options);
  } catch (error) {
    await worker.session.release().catch(() => {});
    throw error;
  }
  return { ...worker, session: new SplitSession(inline.session, worker.session, inlineRowsMax) };
}
