/**
 * The inference actor's own errors. Each says which actor, what went wrong and what to do.
 *
 * - {@link NoChampionError}: a reply, not a crash. Without a champion there is no model to trust,
 *   and an untrained model's output must never pass for a score (the original's mistake 6).
 * - {@link InferenceFailedError}: onnxruntime failed one batch. Every request of that batch is
 *   rejected with it; the actor goes on. Retriable: the next batch may well succeed.
 * - {@link ScorerUnusableError}: the champion failed batch after batch. A failure: the actor
 *   crashes and its supervisor decides (a persistent one escalates).
 */
import { CoelhoError, RetriableError } from "../../runtime/errors.ts";

/** `score` was called while the actor has no champion model. */
export class NoChampionError extends CoelhoError {
  /** For the HTTP face: the service is there, its model is not (yet). */
  readonly status = 503;
  constructor(actor: string) {
    super(
      "no_champion",
      `${actor}: no champion model is set, so nothing can be scored; set one with setChampion() (the registry's "champion" alias) before sending events`,
    );
  }
}

/** A batch's scoring failed in onnxruntime; every request of the batch gets this error. */
export class InferenceFailedError extends RetriableError {
  override readonly code: string = "inference_failed";
  readonly modelVersion: string;
  constructor(actor: string, modelVersion: string, rows: number, cause: unknown) {
    super(
      `${actor}: model ${modelVersion} failed to score a batch of ${rows} rows: ${String((cause as Error)?.message ?? cause)}`,
      { cause },
    );
    this.modelVersion = modelVersion;
  }
}

/** The champion failed `failures` batches in a row: it is not a model that can serve. */
export class ScorerUnusableError extends CoelhoError {
  readonly modelVersion: string;
  constructor(actor: string, modelVersion: string, failures: number, cause: unknown) {
    super(
      "scorer_unusable",
      `${actor}: champion ${modelVersion} failed ${failures} batches in a row; last error: ${String((cause as Error)?.message ?? cause)}; load it again or set another champion`,
      { cause },
    );
    this.modelVersion = modelVersion;
  }
}
