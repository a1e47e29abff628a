/**
 * `CheckpointWriter`: writes shards' checkpoints off the event loop, in a worker thread of its own
 * (one per process, shared by every shard). The shard encodes its dirty states on the main thread
 * (it must: states may be mutated by the next update) and hands the bytes here; SQLite's upserts and
 * the commit's fsync run in the worker while the shard goes on with the next batches.
 *
 * Messages are handled in the order posted, so a `sync()` resolves once every earlier write has
 * landed (or failed): a shard restarting after a crash waits for its previous run's write before it
 * reads the file. Bounded: each shard keeps at most one write in flight, and a write not answered
 * within `WRITE_TIMEOUT_MS` fails. A worker that dies fails what it holds; the next call starts a
 * new one (the files are intact: each write is one transaction).
 */
import {
  type PackedBytes,
  type PackedStrings,
  packBytes,
  packedBuffers,
  packStrings,
} from "../packed-strings.ts";
import type { SourcePosition } from "../shard/changelog.ts";
import type { JournalAppend } from "../shard/entity-model.ts";
import { WorkerCalls } from "../worker-calls.ts";
import type { FromWriter, ToWriter } from "./writer-protocol.ts";

const WRITE_TIMEOUT_MS = 60_000;

/** A checkpoint the worker could not write; names the file. */
export class CheckpointWriteError extends Error {
  constructor(path: string, reason: string) {
    super(`checkpoint ${path}: ${reason}`);
    this.name = "CheckpointWriteError";
  }
}

export class CheckpointWriter {
  // Shards wait for their writes before they stop, so the worker need not keep the process up.
  private readonly calls = new WorkerCalls<ToWriter, FromWriter>({
    url: new URL("./writer-worker.ts", import.meta.url),
    timeoutMs: WRITE_TIMEOUT_MS,
    name: "the checkpoint writer",
    failed: (path, reply) => new CheckpointWriteError(path, reply.message),
    lost: (path, reason) => new CheckpointWriteError(path, reason),
  });

  /** Writes changed states and the positions they include, in one transaction of `path`. */
  write(
    path: string,
    keys: string[],
    states: Uint8Array[],
    positions: SourcePosition[],
  ): Promise<void> {
    return this.writePacked(path, packStrings(keys), packBytes(states), positions, true);
  }

  /**
   * `write` with the keys and states already packed in order (see {@link packStrings} and
   * {@link PackedBytes}), and the shard's processor's journal entry, if any. With `handOver`,
   * their buffers move to the writer's thread instead of being copied (see
   * {@link packedBuffers}): the caller must not use them again.
   */
  writePacked(
    path: string,
    keys: PackedStrings,
    states: PackedBytes,
    positions: SourcePosition[],
    handOver = false,
    journal: JournalAppend | null = null,
  ): Promise<void> {
    if (keys.lengths.length !== states.lengths.length) {
      return Promise.reject(
        new CheckpointWriteError(
          path,
          `${keys.lengths.length} keys but ${states.lengths.length} states`,
        ),
      );
    }
    const buffers = [...packedBuffers(keys), ...packedBuffers(states)];
    if (journal) buffers.push(journal.bytes.buffer as ArrayBuffer);
    const transfer = handOver ? [...new Set(buffers)] : [];
    return this.calls.call(
      path,
      { type: "write", path, keys, states, positions, journal },
      transfer,
    );
  }

  /** Closes the connection to `path` after its pending writes (a shard revoked or abandoned). */
  close(path: string): Promise<void> {
    if (!this.calls.started) return Promise.resolve();
    return this.calls.call(path, { type: "close", path });
  }

  /** Resolves once every write posted before it has landed or failed. */
  sync(): Promise<void> {
    if (!this.calls.started) return Promise.resolve();
    return this.calls.call("(all)", { type: "sync" });
  }

  /** Stops the worker; pending calls fail. Mostly for tests: the worker does not hold the process. */
  terminate(): void {
    this.calls.terminate("the checkpoint writer was terminated");
  }
}

let shared: CheckpointWriter | null = null;

/** The process's checkpoint writer, started on first use. */
export function checkpointWriter(): CheckpointWriter {
  shared ??= new CheckpointWriter();
  return shared;
}
