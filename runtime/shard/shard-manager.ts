/**
 * Turns partition assignment into shards: on assign a shard actor is started (restoring its
 * checkpoint) under the shards supervisor; batches go through its mailbox; on revoke it
 * checkpoints and is removed. The same code serves the embedded log and Kafka.
 *
 * A shard may read several topics keyed by entity and partitioned alike (a use case's keyed
 * inputs): partition p of each goes to the one shard of p, created when the first of them is
 * assigned, and the others get its position in their topic. That needs a log that assigns a
 * member the same partitions of every topic, as `Log.consume` promises.
 */
import { join } from "node:path";
import { spawn } from "../actor/actor.ts";
import type { Supervisor } from "../actor/supervisor.ts";
import type { ActorRef } from "../actor/types.ts";
import { CheckpointStore } from "../checkpoint/store.ts";
import { machines } from "../introspection/machines.ts";
import type { Log, PartitionListener, StoredRecord, TopicPartition } from "../log/log.ts";
import type { Logger } from "../logger.ts";
import type { ShardChangelog } from "./changelog.ts";
import { syncStoreWithChangelog } from "./changelog-restore.ts";
import type { BatchProcessor, EntityModel } from "./entity-model.ts";
import { type Shard, type ShardStatus, shardTopics } from "./shard.ts";
import { type ShardMessage, type ShardReply, shardBehavior } from "./shard-actor.ts";
import { ShardLifecycle, type ShardLifecycleState } from "./shard-lifecycle.ts";

export interface ShardManagerOptions<S, E> {
  model: EntityModel<S, E>;
  log: Log;
  /**
   * The topics the shards read, keyed by entity and partitioned alike; the model's input topic by
   * default (see `ShardOptions.topics`).
   */
  topics?: string[];
  changelog?: ShardChangelog;
  maxEventBytes?: number;
  /** The topics' partition count: unkeyed records of another partition's entity are dead letters. */
  partitionCount?: number;
  /** Consumer group whose positions are committed after each checkpoint. */
  group: string;
  supervisor: Supervisor;
  dataDir: string;
  maxEntitiesPerShard: number;
  entityIdleMs: number;
  checkpointIntervalMs: number;
  checkpointMaxEvents: number;
  batchMax: number;
  /** A batch must be applied within this time or the consumer sees a failure. */
  batchTimeoutMs?: number;
  /** How long a batch is delivered again to a failing shard (default 60 s). */
  batchRetryMs?: number;
  /** Builds the batch processor of a partition's shard (features, inference, outputs). */
  processor?: (partition: number) => BatchProcessor<S, E>;
  /** Called after a shard starts running or is revoked (to publish ownership). */
  onOwnershipChange?: () => void;
  logger: Logger;
}

/** How long a batch is delivered again to a failing shard before the consumer is told. */
const BATCH_RETRY_MS_DEFAULT = 60_000;

/**
 * A use case's state folder: its shards' checkpoints (`p<N>.sqlite`), and what its processors
 * keep beside them (`ServingContext.stateDir`).
 */
export function useCaseStateDir(dataDir: string, usecase: string): string {
  return join(dataDir, "state", usecase);
}

/** Mailbox bound: a few batches in flight per shard; the consumer waits for each batch. */
const SHARD_MAILBOX_CAPACITY = 64;

export class ShardManager<S, E> implements PartitionListener {
  private readonly shards = new Map<number, ActorRef<ShardMessage, ShardReply>>();
  /** Each partition's shard while it starts: the assignment of its other topics waits for it. */
  private readonly starting = new Map<number, Promise<ActorRef<ShardMessage, ShardReply>>>();
  private readonly lifecycles = new Map<number, ShardLifecycle>();
  /** Unregisters each partition's lifecycle from the process's machine registry (the API's view). */
  private readonly unregisterMachine = new Map<number, () => void>();
  /** Each partition's shard of the current run (replaced when the actor restarts). */
  private readonly currentShards = new Map<number, Shard<S, E>>();
  private ticker: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly options: ShardManagerOptions<S, E>) {}

  /** Path of a partition's checkpoint database. */
  storePath(partition: number): string {
    return join(
      useCaseStateDir(this.options.dataDir, this.options.model.name),
      `p${partition}.sqlite`,
    );
  }

  private childId(partition: number): string {
    return `shard-${this.options.model.name}-${partition}`;
  }

  async onAssigned(tp: TopicPartition): Promise<number> {
    const topics = this.topics();
    if (!topics.includes(tp.topic)) {
      throw new Error(`${tp.topic}/${tp.partition} is not one of the shards' topics ${topics}`);
    }
    let starting = this.starting.get(tp.partition);
    if (!starting) {
      starting = this.startShard(tp.partition);
      this.starting.set(tp.partition, starting);
      starting.catch(() => this.starting.delete(tp.partition));
    }
    const actor = await starting;
    const status = (await actor.ask({ type: "status" }, 30_000)) as ShardStatus;
    const input = status.inputs.find((i) => i.topic === tp.topic);
    if (!input) throw new Error(`shard ${tp.partition} has no position in ${tp.topic}`);
    return input.nextOffset;
  }

  private topics(): string[] {
    return shardTopics(this.options.model, this.options.topics);
  }

  /** Starts (and restores) the shard of a partition, for whichever of its topics came first. */
  private async startShard(partition: number): Promise<ActorRef<ShardMessage, ShardReply>> {
    const tp = { topic: this.topics()[0] as string, partition };
    const { model, log, group } = this.options;
    const logger = this.options.logger.child({ usecase: model.name, partition: tp.partition });
    let previous: Shard<S, E> | null = null;
    const lifecycle = new ShardLifecycle(this.childId(tp.partition));
    this.lifecycles.set(tp.partition, lifecycle);
    this.unregisterMachine.get(tp.partition)?.();
    this.unregisterMachine.set(
      tp.partition,
      machines.register({
        kind: "shard",
        name: `${model.name}-${tp.partition}`,
        usecase: model.name,
        snapshot: () => ({
          state: lifecycle.state,
          context: { partition: tp.partition, inStateMs: lifecycle.inStateMs },
        }),
      }),
    );
    const actor = spawn<ShardMessage, ShardReply>({
      name: this.childId(tp.partition),
      kind: "shard",
      mailbox: { capacity: SHARD_MAILBOX_CAPACITY, overflow: "backpressure" },
      behavior: () => {
        // A crashed run's store handle is released before the new run opens the file again.
        previous?.abandon();
        const behavior = shardBehavior<S, E>(
          {
            model,
            log,
            topics: this.options.topics,
            changelog: this.options.changelog,
            maxEventBytes: this.options.maxEventBytes,
            partitionCount: this.options.partitionCount,
            partition: tp.partition,
            storePath: this.storePath(tp.partition),
            maxEntities: this.options.maxEntitiesPerShard,
            idleMs: this.options.entityIdleMs,
            checkpointIntervalMs: this.options.checkpointIntervalMs,
            checkpointMaxEvents: this.options.checkpointMaxEvents,
            batchMax: this.options.batchMax,
            processor: this.options.processor?.(tp.partition),
            onCheckpoint: async (positions) => {
              for (const p of positions) await log.commit(group, p, p.nextOffset);
            },
            logger,
          },
          lifecycle,
        );
        previous = behavior.shard;
        this.currentShards.set(tp.partition, behavior.shard);
        return behavior;
      },
    });
    // The slow part of taking over a moved partition (reading its changelog) runs here, before
    // the supervisor starts the shard: the supervisor starts children one at a time, and several
    // partitions arriving together should restore side by side.
    const changelog = this.options.changelog;
    if (changelog) {
      lifecycle.send({ type: "RESTORE" });
      const store = new CheckpointStore(this.storePath(tp.partition));
      try {
        await syncStoreWithChangelog({
          store,
          changelog,
          topics: this.topics(),
          partition: tp.partition,
          logger,
        });
      } finally {
        store.close();
      }
    }
    await this.options.supervisor.startChild({
      id: actor.id,
      create: () => actor,
      restart: "permanent",
      shutdownMs: 30_000,
    });
    this.shards.set(tp.partition, actor);
    this.startTicker();
    this.options.onOwnershipChange?.();
    return actor;
  }

  /**
   * Delivers a batch and returns once the shard applied it. When the shard fails (it crashed on
   * this batch, or is restarting from its checkpoint after a broker outage), the same batch is
   * delivered again with backoff until it is applied: the shard skips what it already has, and a
   * batch dropped here would leave a gap nothing else would fill once the input stops. Holding the
   * batch also holds the partition's fetching (backpressure). Bounded: past `batchRetryMs` the
   * failure goes to the consumer, whose supervisor decides.
   */
  async onBatch(tp: TopicPartition, records: StoredRecord[]): Promise<void> {
    const retryUntilMs = Date.now() + (this.options.batchRetryMs ?? BATCH_RETRY_MS_DEFAULT);
    for (let attempt = 1; ; attempt++) {
      const shard = this.shards.get(tp.partition);
      // Revoked meanwhile: the partition's new owner reads it from its own position.
      if (!shard) return;
      try {
        await shard.ask(
          { type: "batch", topic: tp.topic, records },
          this.options.batchTimeoutMs ?? 120_000,
        );
        return;
      } catch (error) {
        if (Date.now() >= retryUntilMs) throw error;
        if (attempt === 1 || attempt % 20 === 0) {
          this.options.logger.warn("shard failed on a batch; delivering it again", {
            usecase: this.options.model.name,
            partition: tp.partition,
            attempt,
            error,
          });
        }
        await Bun.sleep(Math.min(2_000, 50 * 2 ** Math.min(attempt, 6)));
      }
    }
  }

  /**
   * The partition is leaving: its shard stops taking input, checkpoints and is dropped, on the
   * revocation of the first of its topics (a log revokes them together; see the class comment).
   */
  async onRevoked(tp: TopicPartition): Promise<void> {
    // Still starting: revoke what it becomes (a failed start has nothing to revoke).
    await this.starting.get(tp.partition)?.catch(() => {});
    const shard = this.shards.get(tp.partition);
    const lifecycle = this.lifecycles.get(tp.partition);
    if (!shard || !lifecycle) return;
    this.shards.delete(tp.partition);
    this.starting.delete(tp.partition);
    lifecycle.send({ type: "REVOKE" });
    // Stopping the actor drains its mailbox and checkpoints in onStop.
    await this.options.supervisor.terminateChild(this.childId(tp.partition));
    lifecycle.send({ type: "REVOKED" });
    this.lifecycles.delete(tp.partition);
    this.unregisterMachine.get(tp.partition)?.();
    this.unregisterMachine.delete(tp.partition);
    this.currentShards.delete(tp.partition);
    this.options.onOwnershipChange?.();
    if (this.shards.size === 0) this.stopTicker();
  }

  /** Lifecycle state of each partition this process holds. */
  lifecycleStates(): { partition: number; state: ShardLifecycleState; inStateMs: number }[] {
    return [...this.lifecycles.entries()]
      .map(([partition, life]) => ({ partition, state: life.state, inStateMs: life.inStateMs }))
      .sort((a, b) => a.partition - b.partition);
  }

  /**
   * Asks the owning shard for an entity's state; null when the partition is not ours or its
   * shard is not running (restoring or revoking): a caller answers "try again", never stale state.
   */
  async get(
    partition: number,
    key: string,
  ): Promise<{ state: S | null; status: ShardStatus } | null> {
    const shard = this.shards.get(partition);
    if (!shard || this.lifecycles.get(partition)?.state !== "running") return null;
    const state = (await shard.ask({ type: "get", key }, 10_000)) as S | null;
    const status = (await shard.ask({ type: "status" }, 10_000)) as ShardStatus;
    return { state, status };
  }

  /** Status of every shard this process owns. */
  async statuses(): Promise<ShardStatus[]> {
    // Read from the shards' current runs directly: a status is a snapshot of a few numbers, and
    // asking through a mailbox behind a long batch (a checkpoint waiting on a broker) would make
    // the whole answer time out exactly when an operator needs it.
    const out: ShardStatus[] = [];
    for (const shard of this.currentShards.values()) out.push(shard.status());
    return out.sort((a, b) => a.partition - b.partition);
  }

  /** Partitions assigned to this process (their shards may still be restoring). */
  partitions(): number[] {
    return [...this.shards.keys()].sort((a, b) => a - b);
  }

  /** Partitions whose shard is running: those this process answers for. */
  runningPartitions(): number[] {
    return this.lifecycleStates()
      .filter((l) => l.state === "running")
      .map((l) => l.partition);
  }

  private startTicker(): void {
    if (this.ticker) return;
    this.ticker = setInterval(() => {
      for (const shard of this.shards.values()) {
        // A full mailbox means the shard is busy with batches, which checkpoint by themselves.
        // Ticks are redundant: one waiting is enough, and a shard stuck on a checkpoint must not
        // find its mailbox full of them when batches come.
        if (shard.depth > 0) continue;
        try {
          shard.tell({ type: "tick" });
        } catch {
          // Stopping or full between the check and the tell: the next tick tries again.
        }
      }
    }, this.options.checkpointIntervalMs);
    this.ticker.unref?.();
  }

  private stopTicker(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
  }
}
