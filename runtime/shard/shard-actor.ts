/**
 * The shard as an actor: its mailbox serialises batches, queries and checkpoint ticks, so the
 * entity state is touched by one message at a time and needs no locks.
 */

import type { Behavior } from "../actor/types.ts";
import type { StoredRecord } from "../log/log.ts";
import { Shard, type ShardOptions, type ShardStatus } from "./shard.ts";
import type { ShardLifecycle } from "./shard-lifecycle.ts";

export type ShardMessage =
  | { type: "batch"; topic: string; records: StoredRecord[] }
  | { type: "tick" }
  | { type: "checkpoint" }
  | { type: "get"; key: string }
  | { type: "status" };

export type ShardReply = unknown;

/**
 * A fresh behaviour per run: a restart after a crash reloads the checkpoint, because the memory
 * of a crashed run is not trusted. `onRestored` learns the offset each run resumes from.
 */
export function shardBehavior<S, E>(
  options: ShardOptions<S, E>,
  lifecycle: ShardLifecycle,
): Behavior<ShardMessage, ShardReply> & { shard: Shard<S, E> } {
  const shard = new Shard(options);
  return {
    shard,
    async onStart() {
      if (lifecycle.state === "assigned") lifecycle.send({ type: "RESTORE" });
      await shard.restore();
      lifecycle.send({ type: "RESTORED" });
    },
    async onRestart(_ctx, error) {
      options.logger.warn("shard restarting from its checkpoint", { error });
      // A crash during a restore leaves the lifecycle in `restoring`: restore again from there.
      if (lifecycle.state === "running") lifecycle.send({ type: "RESTART" });
      await shard.restore();
      lifecycle.send({ type: "RESTORED" });
    },
    async onStop() {
      await shard.close();
    },
    receive(message): Promise<ShardReply> | ShardReply {
      switch (message.type) {
        case "batch":
          return shard.apply(message.records, message.topic);
        case "tick":
          return shard.maybeCheckpoint();
        case "checkpoint":
          return shard.checkpoint();
        case "get":
          return shard.get(message.key);
        case "status":
          return shard.status() satisfies ShardStatus;
      }
    },
  };
}
