/** Messages between the {@link CheckpointWriter} (main thread) and `writer-worker.ts`. */
import type { PackedBytes, PackedStrings } from "../packed-strings.ts";
import type { SourcePosition } from "../shard/changelog.ts";
import type { JournalAppend } from "../shard/entity-model.ts";

export type ToWriter =
  /** One checkpoint, written in one transaction; keys and states packed (packed-strings.ts). */
  | {
      type: "write";
      id: number;
      path: string;
      keys: PackedStrings;
      states: PackedBytes;
      positions: SourcePosition[];
      /** The shard's processor's journal entry, in the same transaction. */
      journal: JournalAppend | null;
    }
  /** Closes the file's connection once every earlier message is done. */
  | { type: "close"; id: number; path: string }
  /** Answered once every earlier message is done: a barrier. */
  | { type: "sync"; id: number };

export type FromWriter =
  | { type: "done"; id: number }
  | { type: "failed"; id: number; message: string };
