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
 * Re-joins and commits. kafkajs re-joins the group only from its fetch loop, and that loop waits
 * for every batch in flight: while an `onBatch` runs, this member cannot re-join. So when the
 * broker says the member must re-join (it expired the member during an outage, or a rebalance
 * started), a commit fails at once with a RetriableError instead of waiting for a re-join that its
 * own `onBatch` holds up, and delivery hands the batch back by rethrowing the broker's error to
 * kafkajs, which re-joins. The commit never falls back to the admin path while this member runs:
 * that path joins the same group with a throwaway consumer and would fight the re-join.
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
import { TIMED_OUT, within } from "../../deadline.ts";
import { RetriableError } from "../../errors.ts";
import type { Logger } from "../../logger.ts";
import { consumerRebalances } from "../../metrics.ts";
import type { ConsumeOptions, Consumer, PartitionListener, TopicPartition } from "../log.ts";
import { coPartitionedAssigner } from "./co-partitioned-assigner.ts";
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

/**
 * Errors after which this member can neither commit nor heartbeat until kafkajs re-joins the
 * group: a rebalance is under way, or the broker no longer knows the member (it expired it, e.g.
 * while the broker was down or paused longer than the session timeout).
 */
const REJOIN_NEEDED = new Set([
  "REBALANCE_IN_PROGRESS",
  "ILLEGAL_GENERATION",
  "NOT_COORDINATOR_FOR_GROUP",
  "UNKNOWN_MEMBER_ID",
]);
const COMMIT_ATTEMPTS_MAX = 6;

/**
 * The kafkajs error (the one carrying the protocol type) when `error` means this member must
 * re-join; kafkajs's runner re-joins when a batch fails with it.
 */
function rejoinCause(error: unknown): Error | null {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth += 1) {
    const type = (current as { type?: unknown }).type;
    if (typeof type === "string") return REJOIN_NEEDED.has(type) ? current : null;
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

/** A commit refused because this member must re-join the group first; commit again later. */
export class CommitRejoiningError extends RetriableError {}

/** True when `error` is, or was caused by, a CommitRejoiningError. */
function isCommitRejoining(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth += 1) {
    if (current instanceof CommitRejoiningError) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

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
  /**
   * Set when the broker said this member must re-join (from a commit or a heartbeat); cleared by
   * the next GROUP_JOIN or CRASH. While set, commits fail fast and delivery hands batches back.
   */
  private rejoin: Error | null = null;
  /** `eachBatch` calls in progress: while any runs, kafkajs cannot re-join. */
  private delivering = 0;
  /** GROUP_JOINs so far: an error from a request sent before the last one is stale. */
  private joins = 0;

  private constructor(private readonly deps: GroupConsumerDeps) {
    const { consumer: tuning, retry } = deps.options;
    this.listener = deps.consume.listener;
    this.consumer = deps.kafka.consumer({
      groupId: deps.consume.group,
      // Partition p of every topic to one member: a shard reads p of each keyed input.
      partitionAssigners: [coPartitionedAssigner],
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
    this.rejoin = null;
    this.joins += 1;
    consumerRebalances.inc({ group: this.group });
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
    this.rejoin = null;
    if (this.state !== "running") return;
    this.deps.health.failed(error);
    for (const lane of this.lanes.values()) if (lane.owned) this.revoke(lane);
    if (!restart) this.fail(error, "the kafkajs consumer crashed and will not restart");
  }

  // --- delivery -----------------------------------------------------------------------------

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    this.delivering += 1;
    try {
      await this.deliver(payload);
    } finally {
      this.delivering -= 1;
    }
  }

  /**
   * Delivers one kafkajs batch in chunks. Throws kafkajs's own error when the member must re-join:
   * kafkajs re-joins on it, and what was not delivered is fetched again.
   */
  private async deliver(payload: EachBatchPayload): Promise<void> {
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
      // Hand the rest back: kafkajs re-joins on this error, and the next owner fetches it again.
      if (this.rejoin) throw this.rejoin;
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
        // The listener failed on a commit that needs a re-join (a broker hiccup, not its fault):
        // re-join and deliver the chunk again rather than stop the consumer.
        if (this.rejoin && isCommitRejoining(error)) throw this.rejoin;
        this.fail(error, `onBatch(${lane.key})`);
        return;
      }
      lane.position = toOffset(last.offset, "offset") + 1;
      const lag = Number(batch.highWatermark) - lane.position;
      lane.lag.set(lag);
      resolveOffset(last.offset);
      const joins = this.joins;
      try {
        await heartbeat();
      } catch (error) {
        this.noteRejoin(error, joins);
        // A rebalance started, or the broker lost this member: hand the rest back; kafkajs's own
        // heartbeat after this batch fails the same way and re-joins.
        return;
      }
    }
  }

  /**
   * Remembers that the broker wants this member to re-join, when `error` says so and no re-join
   * happened since the request was sent (`joins` then).
   */
  private noteRejoin(error: unknown, joins: number): void {
    const cause = rejoinCause(error);
    if (cause && this.member && joins === this.joins) this.rejoin ??= cause;
  }

  /** Keeps the membership alive while one long `onBatch` runs. */
  private async withHeartbeats(
    heartbeat: () => Promise<void>,
    work: () => Promise<void>,
  ): Promise<void> {
    const timer = setInterval(() => {
      const joins = this.joins;
      heartbeat().catch((error: unknown) => this.noteRejoin(error, joins));
    }, this.deps.options.consumer.heartbeatIntervalMs);
    try {
      await work();
    } finally {
      clearInterval(timer);
    }
  }

  // --- commits ------------------------------------------------------------------------------

  /**
   * Commits through this member. Resolves false only when this consumer is gone (stopped, or
   * stopping after kafkajs left the group), so the caller may use the group-less path.
   * @throws CommitRejoiningError (retriable) while the member is re-joining: crashed and being
   * restarted by kafkajs, or told by the broker to re-join. Not committed; commit again later.
   * Inside `onBatch` this fails at once: the re-join waits for that `onBatch` to return.
   */
  async commit(tp: TopicPartition, nextOffset: number): Promise<boolean> {
    const operation = `commit ${this.group} ${tp.topic}/${tp.partition} at ${nextOffset}`;
    let delayMs = 100;
    for (let attempt = 1; ; attempt += 1) {
      if (this.state === "stopped") return false;
      if (!this.member) {
        if (this.state === "stopping") return false;
        throw new CommitRejoiningError(
          `${operation}: this process's member of the group is re-joining after a crash; not committed`,
        );
      }
      let cause = this.rejoin;
      if (!cause) {
        const joins = this.joins;
        try {
          await this.consumer.commitOffsets([
            { topic: tp.topic, partition: tp.partition, offset: String(nextOffset) },
          ]);
          return true;
        } catch (error) {
          cause = rejoinCause(error);
          if (!cause) throw translateError(operation, error);
          // Sent with the previous generation: kafkajs re-joined meanwhile, so send it again.
          if (joins !== this.joins && attempt < COMMIT_ATTEMPTS_MAX) continue;
          this.noteRejoin(cause, joins);
        }
      }
      // kafkajs re-joins from its fetch loop, which waits for the batches in flight: while one
      // runs (usually the caller's own onBatch), waiting here would only hold the re-join up.
      if (this.delivering > 0 || attempt >= COMMIT_ATTEMPTS_MAX) {
        throw new CommitRejoiningError(
          `${operation}: this process's member must re-join the group first (${protocolType(cause)}); not committed`,
          { cause },
        );
      }
      // No batch in flight: kafkajs re-joins by itself (GROUP_JOIN clears `rejoin`), then the
      // commit goes with the new generation.
      await sleep(delayMs);
      delayMs = Math.min(delayMs * 2, 2_000);
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
    if ((await within(left, LEAVE_WAIT_MS)) === TIMED_OUT) {
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
  const { messages } = batch;
  // A partition's messages come in offset order, so when the first is fresh they all are: the
  // usual case, without parsing every offset once more (toStoredRecord parses it anyway).
  const first = messages[0];
  if (first === undefined || toOffset(first.offset, "offset") >= position) return messages;
  return messages.filter((message) => toOffset(message.offset, "offset") >= position);
}
