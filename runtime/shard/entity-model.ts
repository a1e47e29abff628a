/**
 * What a use case tells the runtime about its entities. The runtime knows nothing else of it.
 *
 * An entity's update is a pure function `(state, event) -> state` (DESIGN.md): the same function
 * runs online in the shard and offline in the notebooks, so there is no training/serving skew.
 */
import type { StoredRecord } from "../log/log.ts";

export interface EntityModel<S, E> {
  /** Use case name: topic prefix, checkpoint folder, metric label. `[a-z0-9_-]+`. */
  readonly name: string;
  /** Topic the shards read (keyed by entity; see the ingestion step for unkeyed input). */
  readonly inputTopic: string;
  /** Decode and validate one record; throw a ValidationError naming the field on bad input. */
  decode(record: StoredRecord): E;
  /** The entity this event belongs to. */
  key(event: E): string;
  /** State of an entity never seen before. */
  initial(key: string): S;
  /** The pure update. Must not mutate `state` if callers keep it (the shard does not). */
  update(state: S, event: E): S;
  /** State to text for the checkpoint store, and back. */
  encodeState(state: S): string;
  decodeState(text: string): S;
}

/**
 * Where later layers (features, inference, outputs) hook into the data path without the runtime
 * knowing them. One per shard. `onEvent` runs for every applied event, on the hot path, with the
 * state before and after it (features are computed from `before`: point in time); `flush` runs
 * once after each applied batch and is awaited, so its outputs (e.g. one micro-batched inference
 * call and one append of scores) slow the partition down instead of queueing without bound.
 */
export interface BatchProcessor<S, E> {
  onEvent(key: string, before: S, after: S, event: E, record: StoredRecord): void;
  flush(): Promise<void>;
  /** The shard is going away (revoked, stopped or crashed); release what the processor holds. */
  close?(): Promise<void>;
}
