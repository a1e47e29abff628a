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
  /**
   * Decode and validate one record read from `topic` (a re-keyed record's source topic is in its
   * `coelho.src.topic` header); throw a ValidationError naming the field on bad input.
   */
  decode(record: StoredRecord, topic: string): E;
  /** The entity this event belongs to. */
  key(event: E): string;
  /** State of an entity never seen before. */
  initial(key: string): S;
  /** The pure update: returns the new state and leaves `state` as it was. */
  update(state: S, event: E): S;
  /**
   * Optional: the same update, allowed to change `state` and return it (or return a new one). The
   * shard uses it when given, since it keeps no other reference to a state once its observers
   * saw it (they run before the update; an entity query gets a copy): the copy a pure update
   * makes of every state is then saved on the hot path.
   */
  updateInPlace?(state: S, event: E): S;
  /**
   * State to bytes for the checkpoint store and the changelog. May return a view of a buffer the
   * model reuses: the shard copies the bytes before its next call, so encoding a checkpoint's
   * thousands of states allocates nothing per state.
   */
  encodeState(state: S): Uint8Array;
  /**
   * Bytes back to a state. `bytes` is a view that is valid only during the call (copy what the
   * state keeps). Checkpoints outlive releases: read every format the model wrote before.
   */
  decodeState(bytes: Uint8Array): S;
}

/**
 * Where later layers (features, inference, outputs) hook into the data path without the runtime
 * knowing them. One per shard. `onEvent` runs for every applied event, on the hot path, with the
 * state before it, just before the update (features are computed from it: point in time); it
 * must not keep the state (the update may change it in place) nor change it. `flush` runs
 * once after each applied batch and is awaited, so its outputs (e.g. one micro-batched inference
 * call and one append of scores) slow the partition down instead of queueing without bound.
 */
export interface BatchProcessor<S, E> {
  /** `topic` is the topic the record was read from. */
  onEvent(key: string, before: S, event: E, record: StoredRecord, topic: string): void;
  /**
   * `inputVisible` resolves once the batch's records are durable: they may have been read ahead
   * of their fsync, and no output derived from them may be appended before it resolves.
   */
  flush(inputVisible: Promise<void>): Promise<void>;
  /**
   * Optional: resolves once every output the flushes so far appended is durable, and rejects
   * with what failed. A processor that has it may return from `flush` before its appends are
   * fsynced; the shard's checkpoint, which says those inputs are done, waits for it.
   */
  outputsDurable?(): Promise<void>;
  /** The shard is going away (revoked, stopped or crashed); release what the processor holds. */
  close?(): Promise<void>;
  /**
   * Optional, with `restore`: what the processor keeps across batches besides the entities'
   * states (fraud: predictions waiting for their labels), as a journal written with each
   * checkpoint, in its transaction. Called when a checkpoint is cut, after the last batch it
   * includes was flushed: the entry holds what changed since the last call, so a restore replays
   * exactly the input the checkpoint's positions include. Null when there is nothing to write.
   * The entry's buffer is handed over to the checkpoint writer's thread: never use it again.
   */
  checkpoint?(): JournalAppend | null;
  /**
   * Called once as the shard restores, before any event, with the journal entries its checkpoint
   * kept, in order (none for a new shard). In Kafka mode the changelog carries the journal too,
   * so a shard restored on another process gets the same entries.
   */
  restore?(entries: Iterable<JournalEntry>): void;
}

/** One entry of a processor's journal, as stored in the shard's checkpoint. */
export interface JournalEntry {
  /** From 1, increasing by one per entry. */
  seq: number;
  bytes: Uint8Array;
}

/** An entry to append with a checkpoint, and how much of the journal a restore still needs. */
export interface JournalAppend extends JournalEntry {
  /** Entries before this one are dropped with the checkpoint (at most `seq`: it is kept). */
  keepFrom: number;
  /**
   * The entries this append drops (those kept until now below `keepFrom`), with their sizes: a
   * Kafka changelog deletes their records, which it split by size.
   */
  dropped: { seq: number; bytes: number }[];
}
