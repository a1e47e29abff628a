/** Messages between the {@link CheckpointWriter} (main thread) and `writer-worker.ts`. */
import type { SourcePosition } from "../shard/changelog.ts";

export type ToWriter =
  /**
   * One checkpoint, written in one transaction. Keys and states travel as one string each with
   * the lengths of their parts: cloning two strings costs a copy, cloning thousands of small
   * ones cost ~3 µs each on the main thread (as much as encoding the state).
   */
  | {
      type: "write";
      id: number;
      path: string;
      keys: PackedStrings;
      states: PackedStrings;
      positions: SourcePosition[];
    }
  /** Closes the file's connection once every earlier message is done. */
  | { type: "close"; id: number; path: string }
  /** Answered once every earlier message is done: a barrier. */
  | { type: "sync"; id: number };

/** Strings concatenated, with each one's length in order. */
export interface PackedStrings {
  text: string;
  lengths: Uint32Array;
}

/** Packs strings for {@link ToWriter}'s write. */
export function packStrings(parts: string[]): PackedStrings {
  const lengths = new Uint32Array(parts.length);
  for (let i = 0; i < parts.length; i++) lengths[i] = (parts[i] as string).length;
  return { text: parts.join(""), lengths };
}

/** The strings of {@link packStrings}, in order. */
export function* unpackStrings(packed: PackedStrings): Generator<string> {
  let at = 0;
  for (const length of packed.lengths) {
    yield packed.text.slice(at, at + length);
    at += length;
  }
}

export type FromWriter =
  | { type: "done"; id: number }
  | { type: "failed"; id: number; message: string };
