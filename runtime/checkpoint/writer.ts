/**
 * `CheckpointWriter`: writes shards' checkpoints off the event loop, in a worker thread of its own
 * (one per process, shared by every shard). The shard encodes its dirty states on the main thread
 * (it must: states may be mutated by the next update) and hands the text here; SQLite's upserts and
 * the commit's fsync run in the worker while the shard goes on with the next batches.
 *
 * Messages are handled in the order posted, so a `sync()` resolves once every earlier write has
 * landed (or failed): a shard restarting after a crash waits for its previous run's write before it
 * reads the file. Bounded: each shard keeps at most one write in flight, and a write not answered
 * within `WRITE_TIMEOUT_MS` fails. A worker that dies fails what it holds; the next call starts a
 * new one (the files are intact: each write is one transaction).
 */

import { packStrings } from "../packed-strings.ts";
import type { SourcePosition } from "../shard/changelog.ts";
import type { FromWriter, ToWriter } from "./writer-protocol.ts";

const WRITE_TIMEOUT_MS = 60_000;

/** A checkpoint the worker could not write; names the file. */
export class CheckpointWriteError extends Error {
  constructor(path: string, reason: string) {
    super(`checkpoint ${path}: ${reason}`);
    this.name = "CheckpointWriteError";
  }
}

interface Waiting {
  path: string;
  resolve: () => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

type Outgoing = ToWriter extends infer M
  ? M extends { id: number }
    ? Omit<M, "id">
    : never
  : never;

export class CheckpointWriter {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();

  /** Writes changed states and the positions they include, in one transaction of `path`. */
  write(
    path: string,
    keys: string[],
    states: string[],
    positions: SourcePosition[],
  ): Promise<void> {
    if (keys.length !== states.length) {
      return Promise.reject(
        new CheckpointWriteError(path, `${keys.length} keys but ${states.length} states`),
      );
    }
    return this.post(path, {
      type: "write",
      path,
      keys: packStrings(keys),
      states: packStrings(states),
      positions,
    });
  }

  /** Closes the connection to `path` after its pending writes (a shard revoked or abandoned). */
  close(path: string): Promise<void> {
    if (!this.worker) return Promise.resolve();
    return this.post(path, { type: "close", path });
  }

  /** Resolves once every write posted before it has landed or failed. */
  sync(): Promise<void> {
    if (!this.worker) return Promise.resolve();
    return this.post("(all)", { type: "sync" });
  }

  /** Stops the worker; pending calls fail. Mostly for tests: the worker does not hold the process. */
  terminate(): void {
    const worker = this.worker;
    this.worker = null;
    worker?.terminate();
    this.failAll("the checkpoint writer was terminated");
  }

  private post(path: string, message: Outgoing): Promise<void> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new CheckpointWriteError(path, `no answer within ${WRITE_TIMEOUT_MS} ms`));
      }, WRITE_TIMEOUT_MS);
      this.waiting.set(id, { path, resolve, reject, timer });
      worker.postMessage({ ...message, id } as ToWriter);
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL("./writer-worker.ts", import.meta.url).href);
    // Shards wait for their writes before they stop, so the worker need not keep the process up.
    worker.unref();
    worker.addEventListener("message", (event: MessageEvent<FromWriter>) => {
      const reply = event.data;
      const entry = this.waiting.get(reply.id);
      if (!entry) return;
      this.waiting.delete(reply.id);
      clearTimeout(entry.timer);
      if (reply.type === "done") entry.resolve();
      else entry.reject(new CheckpointWriteError(entry.path, reply.message));
    });
    worker.addEventListener("error", (event: ErrorEvent) => {
      if (this.worker === worker) this.worker = null;
      this.failAll(`the checkpoint writer failed: ${event.message}`);
    });
    this.worker = worker;
    return worker;
  }

  private failAll(reason: string): void {
    for (const [id, entry] of this.waiting) {
      this.waiting.delete(id);
      clearTimeout(entry.timer);
      entry.reject(new CheckpointWriteError(entry.path, reason));
    }
  }
}

let shared: CheckpointWriter | null = null;

/** The process's checkpoint writer, started on first use. */
export function checkpointWriter(): CheckpointWriter {
  shared ??= new CheckpointWriter();
  return shared;
}
