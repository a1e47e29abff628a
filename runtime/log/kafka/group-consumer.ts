/**
 * `Log.consume` on Kafka: one kafkajs consumer in the group, its assignment turned into
 * PartitionListener calls.
 *
 * How assignment changes are detected. kafkajs has no rebalance listener (no onPartitionsAssigned
 * or onPartitionsRevoked, tulios/kafkajs#373 and #1066). What it has is the GROUP_JOIN
 * instrumentation event, emitted synchronously at the end of every successful join+sync with this
 * member's new assignment (`memberAssignment`), before any fetch of the new generation. So each
 * GROUP_JOIN is diffed against the partitions this member held:
 *   - gained: paused at once (still inside the event, so nothing is fetched for it), then
 *     `onAssigned` runs; the consumer seeks to the offset it returns and the partition resumes;
 *   - lost: `onRevoked` runs, after whatever batch for it was in flight (kafkajs drains its
 *     workers before it re-joins);
 *   - kept: untouched for the listener, but kafkajs restarts every partition of a new generation
 *     at the group's committed offset, so the consumer seeks it back to where delivery stood.
 * A CRASH (kafkajs left the group after an error) revokes everything; if kafkajs restarts the
 * consumer, the next GROUP_JOIN assigns afresh.
 *
 * The limit of this approach: the classic protocol revokes before the re-join, and the Java client
 * calls onPartitionsRevoked right then; kafkajs gives no hook there (REBALANCING is emitted only
 * on some paths and cannot delay the join). So `onRevoked` for a partition lost in a rebalance
 * runs just after the re-join, when the new owner may already have started on it. Its final
 * checkpoint and commit can race the new owner's first ones; the platform tolerates that because
 * state is checkpointed with its offset and outputs carry deterministic ids (DESIGN.md). On `stop`
 * there is no such window: every partition is revoked while this member still holds it, and only
 * then does it leave the group.
 */
import type {
  Batch,
  EachBatchPayload,
  Kafka,
  Consumer as KafkaJSConsumer,
  KafkaMessage,
} from "kafkajs";
import type { Logger } from "../../logger.ts";
import type { ConsumeOptions, Consumer, PartitionListener, TopicPartition } from "../log.ts";
import { toOffset, toStoredRecord } from "./codec.ts";
import { protocolType, translateError } from "./errors.ts";
import type { HealthTracker } from "./health.ts";
import { kafkajsRetry, type ResolvedKafkaLogOptions } from "./options.ts";
import { PartitionLane, partitionKey } from "./partition-lane.ts";

/** What a group consumer needs from its KafkaLog. */
export interface GroupConsumerDeps {
  kafka: Kafka;
  options: ResolvedKafkaLogOptions;
  consume: ConsumeOptions;
  /** Partitions this member could own at most: kafkajs runs that many batches concurrently. */
  partitionsMax: number;
  /** The offset to seek to for the one `onAssigned` returned, kept inside the retained range. */
  clampOffset: (tp: TopicPartition, offset: number) => Promise<number>;
  health: HealthTracker;
  logger: Logger;
  /** Called once the consumer has stopped, for good. */
  onClosed: (consumer: KafkaGroupConsumer) => void;
}

type State = "running" | "stopping" | "stopped";

/** Commit errors that mean "a rebalance is under way": the commit is retried on the new generation. */
const REBALANCING = new Set([
  "REBALANCE_IN_PROGRESS",
  "ILLEGAL_GENERATION",
  "NOT_COORDINATOR_FOR_GROUP",
]);
const COMMIT_ATTEMPTS_MAX = 6;
/** How long `stop` waits for kafkajs to leave the group before it gives up waiting. */
const LEAVE_WAIT_MS = 10_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A member of a consumer group, as `Log.consume` returns it. */
export class KafkaGroupConsumer implements Consumer {
  private readonly consumer: KafkaJSConsumer;
  private readonly listener: PartitionListener;
  private readonly lanes = new Map<string, PartitionLane>();
  private readonly userPaused = new Set<string>();
  private state: State = "running";
  /** Joined and neither crashed nor left: commits can go through this member. */
  private member = false;
  private failure: Error | null = null;
  private stopping: Promise<void> | null = null;

  private constructor(private readonly deps: GroupConsumerDeps) {
    const { consumer: tuning, retry } = deps.options;
    this.listener = deps.consume.listener;
    this.consumer = deps.kafka.consumer({
      groupId: deps.consume.group,
      sessionTimeout: tuning.sessionTimeoutMs,
      heartbeatInterval: tuning.heartbeatIntervalMs,
      rebalanceTimeout: tuning.rebalanceTimeoutMs,
      maxWaitTimeInMs: tuning.maxWaitTimeMs,
      allowAutoTopicCreation: false,
      retry: {
        ...kafkajsRetry(retry),
        // kafkajs restarts a crashed consumer on a timer, even one that is being stopped (a stop
        // during its start makes the start crash later); only a running member may come back.
        restartOnFailure: async () => this.state === "running",
      },
    });
  }

  /** The consumer group this member is in. */
  get group(): string {
    return this.deps.consume.group;
  }

  /**
   * Joins the group and starts delivering. Resolves once the first join completed (its
   * `onAssigned` calls may still be running).
   * @throws the translated kafkajs error when the consumer cannot connect or join.
   */
  static async start(deps: GroupConsumerDeps): Promise<KafkaGroupConsumer> {
    const self = new KafkaGroupConsumer(deps);
    const { consumer } = self;
    consumer.on(consumer.events.GROUP_JOIN, (event) =>
      self.onGroupJoin(event.payload.memberAssignment),
    );
    consumer.on(consumer.events.CRASH, (event) =>
      self.onCrash(event.payload.error, event.payload.restart),
    );
    consumer.on(consumer.events.FETCH, () => deps.health.up());
    const operation = `consume ${deps.consume.topics.join(",")} in group ${deps.consume.group}`;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: deps.consume.topics, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: Math.max(1, deps.partitionsMax),
        eachBatch: (payload) => self.eachBatch(payload),
      });
    } catch (error) {
      deps.health.failed(error);
      await consumer.disconnect().catch(() => undefined);
      throw translateError(operation, error);
    }
    if (self.failure) {
      await self.stop();
      throw translateError(operation, self.failure);
    }
    return self;
  }

  // --- assignment ---------------------------------------------------------------------------

  private lane(topic: string, partition: number): PartitionLane {
    const key = partitionKey(topic, partition);
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = new PartitionLane({ topic, partition });
      this.lanes.set(key, lane);
    }
    return lane;
  }

  /** Runs synchronously inside kafkajs's join, before the first fetch of the new generation. */
  private onGroupJoin(assignment: Record<string, number[]>): void {
    this.member = true;
    this.deps.health.up();
    if (this.state !== "running") return;
    const next = new Set<string>();
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) next.add(partitionKey(topic, partition));
    }
    for (const lane of this.lanes.values()) {
      if (lane.owned && !next.has(lane.key)) this.revoke(lane);
    }
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) {
        const lane = this.lane(topic, partition);
        if (!lane.owned) {
          this.assign(lane);
        } else if (lane.ready) {
          this.seek(lane, lane.position);
        }
        this.applyPause(lane);
      }
    }
  }

  private assign(lane: PartitionLane): void {
    lane.owned = true;
    lane.ready = false;
    lane.epoch += 1;
    const epoch = lane.epoch;
    this.applyPause(lane);
    void lane
      .enqueue(async () => {
        if (lane.epoch !== epoch) return;
        lane.listenerOwns = true;
        let offset: number;
        try {
          offset = await this.listener.onAssigned(lane.tp);
        } catch (error) {
          lane.listenerOwns = false;
          throw error;
        }
        if (lane.epoch !== epoch) return;
        const start = await this.deps.clampOffset(lane.tp, offset).catch((error: unknown) => {
          // Without the bounds, seek where asked: kafkajs resets an out-of-range offset to the
          // earliest one (the subscription is fromBeginning).
          this.deps.logger.warn("kafka: could not read the partition's bounds; seeking unclamped", {
            topic: lane.tp.topic,
            partition: lane.tp.partition,
            offset,
            error,
          });
          return offset;
        });
        if (lane.epoch !== epoch) return;
        lane.position = start;
        this.seek(lane, start);
        lane.ready = true;
        this.applyPause(lane);
      })
      .catch((error: unknown) => this.fail(error, `onAssigned(${lane.key})`));
  }

  private revoke(lane: PartitionLane): void {
    lane.owned = false;
    lane.ready = false;
    lane.epoch += 1;
    void lane
      .enqueue(async () => {
        if (!lane.listenerOwns) return;
        lane.listenerOwns = false;
        await this.listener.onRevoked(lane.tp);
      })
      .catch((error: unknown) => {
        // The partition is gone either way; the listener's failure to let go is only reported.
        this.deps.logger.error("kafka: onRevoked failed", {
          group: this.group,
          topic: lane.tp.topic,
          partition: lane.tp.partition,
          error,
        });
      });
  }

  /** kafkajs ignores a seek before `run` or while restarting; the next GROUP_JOIN seeks again. */
  private seek(lane: PartitionLane, offset: number): void {
    try {
      this.consumer.seek({
        topic: lane.tp.topic,
        partition: lane.tp.partition,
        offset: String(offset),
      });
    } catch {
      // No consumer group in kafkajs right now (crash/restart): GROUP_JOIN will place it.
    }
  }

  /** Fetching is paused unless the partition is ready, not paused by the user, and we run. */
  private applyPause(lane: PartitionLane): void {
    const paused = !lane.ready || this.userPaused.has(lane.key) || this.state !== "running";
    const target = [{ topic: lane.tp.topic, partitions: [lane.tp.partition] }];
    try {
      if (paused) this.consumer.pause(target);
      else this.consumer.resume(target);
    } catch {
      // As in seek: GROUP_JOIN re-applies the pause state to a restarted kafkajs consumer.
    }
  }

  private onCrash(error: Error, restart: boolean): void {
    this.member = false;
    if (this.state !== "running") return;
    this.deps.health.failed(error);
    for (const lane of this.lanes.values()) if (lane.owned) this.revoke(lane);
    if (!restart) this.fail(error, "the kafkajs consumer crashed and will not restart");
  }

  // --- delivery -----------------------------------------------------------------------------

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const lane = this.lanes.get(partitionKey(batch.topic, batch.partition));
    if (!lane?.ready || this.state !== "running") return;
    const epoch = lane.epoch;
    const fresh = freshMessages(batch, lane.position);
    if (fresh.length === 0) {
      const last = batch.messages[batch.messages.length - 1];
      if (last) resolveOffset(last.offset);
      return;
    }
    const { maxBatch } = this.deps.consume;
    for (let from = 0; from < fresh.length; from += maxBatch) {
      const stale = !isRunning() || isStale() || lane.epoch !== epoch || !lane.ready;
      if (stale || this.userPaused.has(lane.key) || this.state !== "running") return;
      const chunk = fresh.slice(from, from + maxBatch);
      const last = chunk[chunk.length - 1] as KafkaMessage;
      const records = chunk.map(toStoredRecord);
      try {
        await lane.enqueue(() =>
          this.withHeartbeats(heartbeat, () => this.listener.onBatch(lane.tp, records)),
        );
      } catch (error) {
        this.fail(error, `onBatch(${lane.key})`);
        return;
      }
      lane.position = toOffset(last.offset, "offset") + 1;
      resolveOffset(last.offset);
      try {
        await heartbeat();
      } catch {
        // A rebalance started: hand the rest back; kafkajs's own heartbeat re-joins.
        return;
      }
    }
  }

  /** Keeps the membership alive while one long `onBatch` runs. */
  private async withHeartbeats(
    heartbeat: () => Promise<void>,
    work: () => Promise<void>,
  ): Promise<void> {
    const timer = setInterval(() => {
      heartbeat().catch(() => undefined);
    }, this.deps.options.consumer.heartbeatIntervalMs);
    try {
      await work();
    } finally {
      clearInterval(timer);
    }
  }

  // --- commits ------------------------------------------------------------------------------

  /**
   * Commits through this member. Resolves false when this member cannot commit (not joined, or
   * stopped), so the caller can use the group-less path.
   */
  async commit(tp: TopicPartition, nextOffset: number): Promise<boolean> {
    let delayMs = 100;
    for (let attempt = 1; ; attempt += 1) {
      if (!this.member || this.state === "stopped") return false;
      try {
        await this.consumer.commitOffsets([
          { topic: tp.topic, partition: tp.partition, offset: String(nextOffset) },
        ]);
        return true;
      } catch (error) {
        const type = protocolType(error);
        if (type === "UNKNOWN_MEMBER_ID") return false;
        if (!type || !REBALANCING.has(type) || attempt >= COMMIT_ATTEMPTS_MAX) {
          throw translateError(
            `commit ${this.group} ${tp.topic}/${tp.partition} at ${nextOffset}`,
            error,
          );
        }
        // The group is re-balancing; kafkajs commits with the new generation once it re-joined.
        await sleep(delayMs);
        delayMs = Math.min(delayMs * 2, 2_000);
      }
    }
  }

  // --- the Consumer interface ---------------------------------------------------------------

  pause(tp: TopicPartition): void {
    const key = partitionKey(tp.topic, tp.partition);
    this.userPaused.add(key);
    const lane = this.lanes.get(key);
    if (lane) this.applyPause(lane);
  }

  resume(tp: TopicPartition): void {
    const key = partitionKey(tp.topic, tp.partition);
    this.userPaused.delete(key);
    const lane = this.lanes.get(key);
    if (lane) this.applyPause(lane);
  }

  assignment(): TopicPartition[] {
    return [...this.lanes.values()]
      .filter((lane) => lane.owned)
      .map((lane) => ({ ...lane.tp }))
      .sort((a, b) =>
        a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
      );
  }

  /** Revokes every partition (awaiting `onRevoked`) while still a member, then leaves the group. */
  stop(): Promise<void> {
    if (!this.stopping) this.stopping = this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.state = "stopping";
    for (const lane of this.lanes.values()) {
      this.applyPause(lane);
      if (lane.owned) this.revoke(lane);
    }
    await Promise.all([...this.lanes.values()].map((lane) => lane.idle()));
    this.member = false;
    // kafkajs's disconnect waits for requests in flight; a join in flight (a consumer restarting
    // after a broker outage) can take until the broker expires the old member. Past the bound the
    // broker drops this member at its session timeout, and kafkajs will not restart it.
    const left = this.consumer.disconnect().then(
      () => true,
      (error: unknown) => {
        this.deps.logger.warn("kafka: consumer did not leave its group cleanly", {
          group: this.group,
          error,
        });
        return true;
      },
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const gaveUp = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), LEAVE_WAIT_MS);
    });
    const leftInTime = await Promise.race([left, gaveUp]);
    clearTimeout(timer);
    if (!leftInTime) {
      this.deps.logger.warn(
        "kafka: consumer did not leave its group in time; the broker will drop it",
        {
          group: this.group,
          waitedMs: LEAVE_WAIT_MS,
        },
      );
    }
    this.state = "stopped";
    this.deps.onClosed(this);
  }

  /** A failure: stop taking input, revoke, leave, and tell the owner. */
  private fail(error: unknown, where: string): void {
    const failure = error instanceof Error ? error : new Error(String(error));
    if (this.failure) return;
    this.failure = failure;
    this.deps.logger.error("kafka: group consumer failed; stopping it", {
      group: this.group,
      where,
      error: failure,
    });
    void this.stop().then(() => this.deps.options.onConsumerFailure?.(this.group, failure));
  }
}

/** Messages at or after `position`: anything before it was delivered already. */
function freshMessages(batch: Batch, position: number): KafkaMessage[] {
  return batch.messages.filter((message) => toOffset(message.offset, "offset") >= position);
}
