/** Messages between `WorkerKafkaChangelog` (main thread) and `changelog-worker.ts`. */
import type { PackedBytes, PackedStrings } from "../../packed-strings.ts";
import type { SourcePosition } from "../../shard/changelog.ts";
import type { JournalAppend } from "../../shard/entity-model.ts";
import type { KafkaChangelogOptions } from "./changelog.ts";
import type { KafkaLogOptions } from "./options.ts";

/** What the worker needs to open its own Kafka clients and changelog; all of it cloneable. */
export interface ChangelogWorkerInit {
  log: Omit<KafkaLogOptions, "logger" | "onConsumerFailure">;
  changelog: Omit<KafkaChangelogOptions, "logger">;
  logLevel: "debug" | "info" | "warn" | "error";
}

export type ToChangelogWorker =
  | { type: "init"; id: number; init: ChangelogWorkerInit }
  /** One checkpoint's states (keys and states packed, see packed-strings.ts) and positions. */
  | {
      type: "publish";
      id: number;
      partition: number;
      keys: PackedStrings;
      states: PackedBytes;
      positions: SourcePosition[];
      journal: JournalAppend | null;
    }
  | { type: "claim"; id: number; partition: number }
  | { type: "release"; id: number; partition: number }
  | { type: "close"; id: number };

/** An error as it crosses the thread boundary: enough to rebuild its class on the other side. */
export interface SerializedError {
  name: string;
  code?: string;
  message: string;
  /** ValidationError's path. */
  path?: string;
  /** ChangelogFencedError's partition. */
  partition?: number;
  /** RetriesExhaustedError's attempts. */
  attempts?: number;
}

export type FromChangelogWorker =
  | { type: "done"; id: number }
  | { type: "failed"; id: number; error: SerializedError };
