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
 * Called for every applied event with the state before and after it: the place where later
 * layers (features, inference, labels) hook into the data path without the runtime knowing them.
 */
export type EntityObserver<S, E> = (
  key: string,
  before: S,
  after: S,
  event: E,
  record: StoredRecord,
) => void;
