/**
 * A shard's changelog: where its state goes so that a partition moving to another process can
 * be restored there (Kafka mode; DESIGN.md "State, checkpoints and exactly-once state").
 *
 * The contract that keeps state exactly-once across processes:
 * - `publish` makes a checkpoint's changed states AND its positions visible atomically, and
 *   moves the input group's committed offsets to the input positions in the same step (a Kafka
 *   transaction: changelog records + `sendOffsets`). A reader never sees half a checkpoint.
 * - The shard publishes BEFORE it commits the same checkpoint locally. So the local store is never
 *   ahead of the changelog: local == changelog means the local store is fresh; local < changelog
 *   means another process moved on, and the shard restores from the changelog.
 * - A process that lost its partition and still publishes is fenced (its publish fails).
 */

import type { PackedBytes, PackedStrings } from "../packed-strings.ts";
import type { JournalAppend, JournalEntry } from "./entity-model.ts";

/** A position a shard's state includes: the next offset of a partition of a topic it reads. */
export interface SourcePosition {
  topic: string;
  partition: number;
  nextOffset: number;
}

export interface ShardChangelog {
  /**
   * Atomically publishes states (`[key, encoded state]`), positions and the shard's processor's
   * journal entry (if any: appended, and the entries it drops deleted); commits the input group.
   */
  publish(
    partition: number,
    states: Iterable<[string, Uint8Array]>,
    positions: SourcePosition[],
    journal?: JournalAppend | null,
  ): Promise<void>;
  /**
   * `publish` with the keys and their encoded states already packed in order (see
   * packed-strings.ts): the shard packs a checkpoint once for both its changelog and its
   * checkpoint writer, which post it to their worker threads. Optional: without it the shard
   * calls `publish`.
   */
  publishPacked?(
    partition: number,
    keys: PackedStrings,
    states: PackedBytes,
    positions: SourcePosition[],
    journal?: JournalAppend | null,
  ): Promise<void>;
  /**
   * Takes ownership of the partition's changelog before reading it: fences a previous owner that
   * may still be writing, and ends what it left open, so the restore sees its final state.
   */
  claim?(partition: number): Promise<void>;
  /**
   * The input position the changelog holds for the partition of `topic` (the group's committed
   * offset); `topic` defaults to the primary input topic.
   */
  position(partition: number, topic?: string): Promise<number | null>;
  /**
   * Reads the partition's latest state per key and its positions, as of the last publish. The
   * state bytes given to `visit` stay valid after the call (the caller may keep them). With
   * `journal`, it also gets the processor's journal entries the last publish kept, in order.
   */
  restore(
    partition: number,
    visit: (key: string, state: Uint8Array) => void,
    journal?: (entry: JournalEntry) => void,
  ): Promise<SourcePosition[]>;
  /** Releases what the partition holds (its transactional producer) on revocation. */
  release(partition: number): Promise<void>;
  close(): Promise<void>;
}
