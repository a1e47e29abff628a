/**
 * The worker thread behind {@link CheckpointWriter}: it holds one write connection per checkpoint
 * file and runs each checkpoint's transaction, one message at a time, in the order posted. SQLite's
 * upserts and the commit's fsync (`synchronous=FULL`) take 15-20 µs a state here; on the main thread
 * a 3k-state checkpoint stalled every shard and the HTTP API for ~50 ms.
 */

import { unpackPairs } from "../packed-strings.ts";
import { runAsBackgroundThread } from "../thread-priority.ts";
import { CheckpointStore } from "./store.ts";
import type { FromWriter, ToWriter } from "./writer-protocol.ts";

declare const self: Worker;

// Checkpoints are background work: at the lowest priority they leave the cores to the shards.
runAsBackgroundThread();

const stores = new Map<string, CheckpointStore>();

function storeFor(path: string): CheckpointStore {
  let store = stores.get(path);
  if (!store) {
    store = new CheckpointStore(path);
    stores.set(path, store);
  }
  return store;
}

function handle(message: ToWriter): void {
  switch (message.type) {
    case "write":
      storeFor(message.path).write(
        unpackPairs(message.keys, message.states),
        message.positions,
        message.journal,
      );
      return;
    case "close":
      stores.get(message.path)?.close();
      stores.delete(message.path);
      return;
    case "sync":
      return;
  }
}

self.onmessage = (event: MessageEvent<ToWriter>) => {
  const message = event.data;
  let reply: FromWriter;
  try {
    handle(message);
    reply = { type: "done", id: message.id };
  } catch (error) {
    // A connection that failed mid-transaction is not reused: the next write reopens the file.
    if (message.type === "write") {
      try {
        stores.get(message.path)?.close();
      } catch {}
      stores.delete(message.path);
    }
    reply = { type: "failed", id: message.id, message: (error as Error)?.message ?? String(error) };
  }
  self.postMessage(reply);
};
