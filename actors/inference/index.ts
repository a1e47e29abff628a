/**
 * The inference actor: micro-batched ONNX scoring with a champion and an optional shadow
 * challenger, hot swaps between batches, and a queue bounded in rows. See docs/inference.md.
 *
 * @example
 * import { createInferenceActor } from "./actors/inference/index.ts";
 */
export { DRAIN_BATCHES_MAX, type FeatureRows, type Scored, type ScoredMany } from "./batcher.ts";
export { InferenceFailedError, NoChampionError, ScorerUnusableError } from "./errors.ts";
export {
  BATCH_MAX_DEFAULT,
  createInferenceActor,
  type InferenceActor,
  type InferenceActorOptions,
  LIMITS,
  MAX_PENDING_SENDERS_DEFAULT,
  SCORER_FAILURES_MAX_DEFAULT,
  WAIT_MAX_MS_DEFAULT,
} from "./inference-actor.ts";
export { RETIRED_VERSIONS_KEPT } from "./inference-metrics.ts";
export type { ModelPair, ModelSlot } from "./model-slots.ts";
