/**
 * The log on Apache Kafka, through kafkajs: `openKafkaLog` gives a `Log` whose topics are Kafka
 * topics. See docs/kafka.md for how each part of the contract maps onto Kafka.
 */
import {
  type Admin,
  Kafka,
  logLevel,
  Partitioners,
  type Producer,
  type SASLOptions,
} from "kafkajs";
import { CoelhoError, RetriableError, ValidationError } from "../../errors.ts";
import { createLogger } from "../../logger.ts";
import { produceFailed, recordAppended } from "../../metrics.ts";
import type {
  ConsumeOptions,
  Consumer,
  Log,
  LogRecord,
  StoredRecord,
  TopicPartition,
  TopicSpec,
} from "../log.ts";
import { toMessage, toOffset } from "./codec.ts";
import { translateError } from "./errors.ts";
import { KafkaGroupConsumer } from "./group-consumer.ts";
import { HealthTracker, type KafkaHealth } from "./health.ts";
import { createKafkaLogRouter, type KafkaLogRouter } from "./kafka-logger.ts";
import {
  type KafkaLogOptions,
  kafkajsRetry,
  type ResolvedKafkaLogOptions,
  resolveOptions,
} from "./options.ts";
import { type PartitionBounds, type ReadOptions, readRange } from "./reader.ts";
import { sendChunks } from "./send-chunks.ts";
import { WireFetcher } from "./wire.ts";

/** Kafka's legal topic names (the broker's own rule). */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
/** Kafka's acks=all: a write is durable once every in-sync replica has it. */
const ACKS_ALL = -1;
/** How often ensureTopic looks whether a new topic has its leaders. */
const TOPIC_POLL_MS = 100;

function validateTopicName(topic: string): void {
  if (typeof topic !== "string" || !TOPIC_NAME.test(topic) || topic === "." || topic === "..") {
    throw new ValidationError(
      "topic",
      `"${topic}" is not a valid Kafka topic name; expected 1-249 of letters, digits, ".", "_" or "-"`,
    );
  }
}

function validateRecords(records: LogRecord[]): void {
  if (!Array.isArray(records)) throw new ValidationError("records", "is not an array");
  records.forEach((record, index) => {
    if (!(record?.value instanceof Uint8Array)) {
      throw new ValidationError(`records[${index}].value`, "is not a Uint8Array");
    }
    if (record.key !== null && !(record.key instanceof Uint8Array)) {
      throw new ValidationError(`records[${index}].key`, "is neither null nor a Uint8Array");
    }
    const ts = record.timestampMs;
    if (ts !== undefined && (!Number.isSafeInteger(ts) || ts < 0)) {
      throw new ValidationError(
        `records[${index}].timestampMs`,
        `${ts} is not valid; expected ms since the epoch`,
      );
    }
  });
}

/** Where a partition's offsets stand, with and without its open transactions. */
export interface PartitionOffsets {
  /** Oldest offset still retained. */
  start: number;
  /**
   * The last stable offset: the first offset of the oldest transaction still open, or `end` when
   * none is. What `read_committed` readers (and `endOffset`) see as the end.
   */
  stableEnd: number;
  /** The high watermark: the offset the next record will get, open transactions included. */
  end: number;
}

/** Settings of a producer that `KafkaLog.transactionalProducer` creates. */
export interface TransactionalProducerOptions {
  /** Stable per unit of ownership: a new producer with the same id fences the previous one. */
  transactionalId: string;
  /** How long a transaction may stay open before the broker aborts it. */
  transactionTimeoutMs: number;
}

/** A `Log` on Kafka, plus the health the platform reports in readiness. */
export class KafkaLog implements Log {
  readonly kind = "kafka" as const;
  private readonly partitionCounts = new Map<string, number>();
  private readonly consumers = new Set<KafkaGroupConsumer>();
  private closed = false;

  /** @internal use `openKafkaLog` */
  constructor(
    private readonly options: ResolvedKafkaLogOptions,
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly producer: Producer,
    private readonly fetcher: WireFetcher,
    private readonly router: KafkaLogRouter,
    private readonly health: HealthTracker,
  ) {}

  /** True while the last call to the cluster got through (see `health` for details). */
  isConnected(): boolean {
    return this.health.snapshot().connected;
  }

  /** Connection state for readiness. */
  healthSnapshot(): KafkaHealth {
    return this.health.snapshot();
  }

  /** Asks the cluster for its metadata now; resolves with whether it answered. Never throws. */
  async ping(): Promise<boolean> {
    try {
      await this.admin.describeCluster();
      this.health.up();
      return true;
    } catch (error) {
      this.health.down(error);
      return false;
    }
  }

  /** Runs a kafkajs call: success marks the cluster reachable; failures are translated. */
  private async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new CoelhoError("log_closed", `${operation}: the Kafka log is closed`);
    try {
      const result = await fn();
      this.health.up();
      return result;
    } catch (error) {
      this.health.failed(error);
      throw translateError(operation, error);
    }
  }

  async ensureTopic(spec: TopicSpec): Promise<void> {
    validateTopicName(spec.name);
    if (!Number.isSafeInteger(spec.partitions) || spec.partitions < 1) {
      throw new ValidationError(
        "partitions",
        `${spec.partitions} is not valid; expected an integer >= 1`,
      );
    }
    const configEntries = spec.compacted ? [{ name: "cleanup.policy", value: "compact" }] : [];
    // createTopics resolves false (no error) when the topic exists; the existing one is kept as is.
    // Its own wait for leaders gives up on UNKNOWN_TOPIC_OR_PARTITION, which a broker answers for a
    // moment after creating a topic, so we wait ourselves (waitForTopic).
    await this.call(`ensureTopic ${spec.name}`, () =>
      this.admin.createTopics({
        waitForLeaders: false,
        topics: [
          {
            topic: spec.name,
            numPartitions: spec.partitions,
            replicationFactor: this.options.replicationFactor,
            configEntries,
          },
        ],
      }),
    );
    await this.waitForTopic(spec.name);
  }

  /**
   * Polls the cluster's metadata until `topic` is listed and every partition has a leader, so the
   * next produce or consume finds it. Bounded by the request timeout (at least 10 s).
   */
  private async waitForTopic(topic: string): Promise<void> {
    const deadline = Date.now() + Math.max(10_000, this.options.requestTimeoutMs);
    for (;;) {
      const found = await this.topicMetadata(`ensureTopic ${topic}`, topic);
      if (found && found.partitions.length > 0 && found.partitions.every((p) => p.leader >= 0)) {
        this.partitionCounts.set(topic, found.partitions.length);
        return;
      }
      if (Date.now() >= deadline) {
        throw new RetriableError(
          `ensureTopic ${topic}: the topic has no leader for every partition yet; is the cluster healthy?`,
        );
      }
      await Bun.sleep(TOPIC_POLL_MS);
    }
  }

  async partitionCount(topic: string): Promise<number> {
    validateTopicName(topic);
    const cached = this.partitionCounts.get(topic);
    if (cached !== undefined) return cached;
    return this.refreshPartitionCount(topic);
  }

  /**
   * The topic's metadata, or undefined when the cluster does not list it. All topics' metadata is
   * fetched (one request): asking for a missing topic by name makes kafkajs retry it as if it were
   * still being created.
   */
  private async topicMetadata(operation: string, topic: string) {
    const { topics } = await this.call(operation, () => this.admin.fetchTopicMetadata());
    return topics.find((t) => t.name === topic);
  }

  /** Asks the cluster (see topicMetadata) and caches the answer. */
  private async refreshPartitionCount(topic: string): Promise<number> {
    const found = await this.topicMetadata(`partitionCount ${topic}`, topic);
    if (!found) {
      this.partitionCounts.delete(topic);
      throw new ValidationError("topic", `"${topic}" does not exist; create it with ensureTopic`);
    }
    this.partitionCounts.set(topic, found.partitions.length);
    return found.partitions.length;
  }

  private async validatePartition(topic: string, partition: number): Promise<void> {
    let count = await this.partitionCount(topic);
    // Partitions can be added to a topic; look again before refusing.
    if (Number.isSafeInteger(partition) && partition >= count)
      count = await this.refreshPartitionCount(topic);
    if (!Number.isSafeInteger(partition) || partition < 0 || partition >= count) {
      throw new ValidationError(
        "partition",
        `${partition} is not a partition of "${topic}"; expected 0..${count - 1}`,
      );
    }
  }

  async append(topic: string, partition: number, records: LogRecord[]): Promise<number> {
    await this.validatePartition(topic, partition);
    validateRecords(records);
    if (records.length === 0) return this.endOffset(topic, partition);
    // kafkajs puts all of one send's messages for a partition in one record batch, one request;
    // the broker refuses a batch over its size limit, so a large append goes in chunks, in order.
    let firstOffset: number | null = null;
    for (const chunk of sendChunks(records)) {
      const messages = chunk.map((record) => toMessage(record, partition));
      const metadata = await this.call(`append to ${topic}/${partition}`, () =>
        this.producer.send({ topic, acks: ACKS_ALL, messages }),
      ).catch(produceFailed(topic));
      const entry = metadata.find((m) => m.topicName === topic && m.partition === partition);
      if (!entry?.baseOffset) {
        throw new CoelhoError(
          "kafka",
          `append to ${topic}/${partition}: the produce response has no base offset`,
        );
      }
      recordAppended(topic, chunk.length);
      firstOffset ??= toOffset(entry.baseOffset, "baseOffset");
    }
    return firstOffset as number;
  }

  async produce(topic: string, records: LogRecord[]): Promise<void> {
    await this.partitionCount(topic);
    validateRecords(records);
    if (records.length === 0) return;
    // kafkajs's DefaultPartitioner is Java's: murmur2(key) for keys, round-robin for null keys.
    // Chunks in order (see send-chunks.ts): a key's records stay in order on its partition.
    for (const chunk of sendChunks(records)) {
      await this.call(`produce to ${topic}`, () =>
        this.producer.send({
          topic,
          acks: ACKS_ALL,
          messages: chunk.map((record) => toMessage(record)),
        }),
      ).catch(produceFailed(topic));
      recordAppended(topic, chunk.length);
    }
  }

  private async bounds(topic: string, partition: number): Promise<PartitionBounds> {
    const offsets = await this.call(`offsets of ${topic}/${partition}`, () =>
      this.admin.fetchTopicOffsets(topic),
    );
    const entry = offsets.find((o) => o.partition === partition);
    if (!entry) {
      throw new ValidationError("partition", `${partition} is not a partition of "${topic}"`);
    }
    return { start: toOffset(entry.low, "low offset"), end: toOffset(entry.high, "high offset") };
  }

  /**
   * The `Log` contract's read; `options` choose the isolation level (read_committed unless said
   * otherwise) and an offset to stop before (see `ReadOptions`).
   */
  async read(
    topic: string,
    partition: number,
    fromOffset: number,
    maxRecords: number,
    options: ReadOptions = {},
  ): Promise<StoredRecord[]> {
    await this.validatePartition(topic, partition);
    if (this.closed)
      throw new CoelhoError("log_closed", `read ${topic}/${partition}: the Kafka log is closed`);
    // The admin's offsets are read_committed (their end is the last stable offset); a
    // read_uncommitted read goes on to the high watermark.
    const bounds =
      options.isolation === "read_uncommitted"
        ? async () => {
            const offsets = await this.offsets(topic, partition);
            return { start: offsets.start, end: offsets.end };
          }
        : () => this.bounds(topic, partition);
    try {
      const records = await readRange(
        this.fetcher,
        bounds,
        topic,
        partition,
        fromOffset,
        maxRecords,
        options,
      );
      this.health.up();
      return records;
    } catch (error) {
      this.health.failed(error);
      throw error;
    }
  }

  /** Kafka delivers only records under the high watermark: visible to every reader already. */
  whenVisible(_topic: string, _partition: number, _offset: number): Promise<void> {
    return Promise.resolve();
  }

  async endOffset(topic: string, partition: number): Promise<number> {
    await this.validatePartition(topic, partition);
    return (await this.bounds(topic, partition)).end;
  }

  async startOffset(topic: string, partition: number): Promise<number> {
    await this.validatePartition(topic, partition);
    return (await this.bounds(topic, partition)).start;
  }

  /**
   * The partition's start, last stable offset and high watermark. `stableEnd < end` while a
   * transaction is open on the partition, and for a moment after one ends (the broker writes its
   * markers after the commit or abort returns).
   */
  async offsets(topic: string, partition: number): Promise<PartitionOffsets> {
    await this.validatePartition(topic, partition);
    // The high watermark is asked second: it never goes back, so stableEnd <= end holds.
    const { start, end: stableEnd } = await this.bounds(topic, partition);
    if (this.closed)
      throw new CoelhoError(
        "log_closed",
        `offsets of ${topic}/${partition}: the Kafka log is closed`,
      );
    try {
      const end = await this.fetcher.highWatermark(topic, partition);
      this.health.up();
      return { start, stableEnd, end };
    } catch (error) {
      this.health.failed(error);
      throw error;
    }
  }

  /**
   * A transactional producer on this log's cluster, not yet connected; the caller connects it and
   * disconnects it. Idempotent (a transaction needs it), acks=all, one request in flight, the
   * log's bounded retries. For the shard changelog (`changelog.ts`).
   */
  transactionalProducer(options: TransactionalProducerOptions): Producer {
    if (this.closed) {
      throw new CoelhoError(
        "log_closed",
        `producer ${options.transactionalId}: the Kafka log is closed`,
      );
    }
    return this.kafka.producer({
      transactionalId: options.transactionalId,
      transactionTimeout: options.transactionTimeoutMs,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: kafkajsRetry(this.options.retry),
    });
  }

  async consume(options: ConsumeOptions): Promise<Consumer> {
    if (!options.group)
      throw new ValidationError("group", "is empty; expected a consumer group name");
    if (!Array.isArray(options.topics) || options.topics.length === 0) {
      throw new ValidationError("topics", "is empty; expected at least one topic");
    }
    if (!Number.isSafeInteger(options.maxBatch) || options.maxBatch < 1) {
      throw new ValidationError(
        "maxBatch",
        `${options.maxBatch} is not valid; expected an integer >= 1`,
      );
    }
    let partitionsMax = 0;
    for (const topic of options.topics) partitionsMax += await this.partitionCount(topic);
    if (this.closed)
      throw new CoelhoError("log_closed", `consume in ${options.group}: the Kafka log is closed`);
    const consumer = await KafkaGroupConsumer.start({
      kafka: this.kafka,
      options: this.options,
      consume: { ...options, topics: [...options.topics] },
      partitionsMax,
      clampOffset: async (tp, offset) => {
        const { start, end } = await this.bounds(tp.topic, tp.partition);
        return Math.min(Math.max(offset, start), end);
      },
      health: this.health,
      logger: this.options.logger ?? createLogger({ component: "kafka" }),
      onClosed: (closed) => this.consumers.delete(closed),
    });
    this.consumers.add(consumer);
    return consumer;
  }

  /**
   * Through a member of `group` in this process when there is one (the normal case: a shard
   * commits the partition it owns). Otherwise through the admin API, which Kafka allows only while
   * the group has no members.
   * @throws CommitRejoiningError (retriable) while this process's member is re-joining the group
   * (the broker expired it, a rebalance, a crash): not committed, and never sent through the admin
   * API instead, whose throwaway consumer would join the group and fight the re-join.
   */
  async commit(group: string, tp: TopicPartition, nextOffset: number): Promise<void> {
    await this.validatePartition(tp.topic, tp.partition);
    if (!Number.isSafeInteger(nextOffset) || nextOffset < 0) {
      throw new ValidationError(
        "nextOffset",
        `${nextOffset} is not valid; expected an integer >= 0`,
      );
    }
    for (const consumer of this.consumers) {
      if (consumer.group === group && (await consumer.commit(tp, nextOffset))) {
        this.health.up();
        return;
      }
    }
    const operation = `commit ${group} ${tp.topic}/${tp.partition} at ${nextOffset}`;
    try {
      await this.call(operation, () =>
        this.admin.setOffsets({
          groupId: group,
          topic: tp.topic,
          partitions: [{ partition: tp.partition, offset: String(nextOffset) }],
        }),
      );
    } catch (error) {
      if (String((error as Error).message).includes("must have no running instances")) {
        throw new CoelhoError(
          "commit_not_member",
          `${operation}: the group has members and none is in this process; commit from the member that owns the partition`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  async committed(group: string, tp: TopicPartition): Promise<number | null> {
    await this.validatePartition(tp.topic, tp.partition);
    const topics = await this.call(`committed ${group} ${tp.topic}/${tp.partition}`, () =>
      this.admin.fetchOffsets({ groupId: group, topics: [tp.topic] }),
    );
    const entry = topics
      .find((t) => t.topic === tp.topic)
      ?.partitions.find((p) => p.partition === tp.partition);
    if (!entry) return null;
    const offset = toOffset(entry.offset, "committed offset");
    return offset < 0 ? null : offset;
  }

  /**
   * This log's settings without its callbacks (logger, consumer-failure hook), for a worker thread
   * that opens its own clients to the same cluster; `clientSuffix` tells its connections apart.
   */
  cloneableOptions(clientSuffix: string): Omit<KafkaLogOptions, "logger" | "onConsumerFailure"> {
    const { logger: _logger, onConsumerFailure: _hook, ...rest } = this.options;
    return { ...rest, clientId: `${rest.clientId}.${clientSuffix}` };
  }

  /** Stops every group consumer (revoking their partitions), then disconnects. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.consumers].map((consumer) => consumer.stop()));
    this.closed = true;
    await Promise.allSettled([
      this.producer.disconnect(),
      this.admin.disconnect(),
      this.fetcher.close(),
    ]);
    this.router.flush();
  }
}

/**
 * Connects to the cluster and returns the log. Fails (after the retry budget) when no broker
 * answers, so a misconfigured address is an error at startup, not a silent stall.
 *
 * @example
 * const log = await openKafkaLog({ brokers: ["127.0.0.1:19092"], clientId: "coelho-0" });
 * await log.ensureTopic({ name: "fraud.events", partitions: 3 });
 */
export async function openKafkaLog(options: KafkaLogOptions): Promise<KafkaLog> {
  const resolved = resolveOptions(options);
  const logger = resolved.logger ?? createLogger({ component: "kafka" });
  const router = createKafkaLogRouter(logger, {
    windowMs: resolved.logWindowMs,
    linesPerWindowMax: resolved.logLinesPerWindowMax,
  });
  const retry = kafkajsRetry(resolved.retry);
  const kafka = new Kafka({
    brokers: resolved.brokers,
    clientId: resolved.clientId,
    connectionTimeout: resolved.connectionTimeoutMs,
    requestTimeout: resolved.requestTimeoutMs,
    retry,
    logLevel: logLevel.WARN,
    logCreator: router.logCreator,
    // Every client of this log (admin, producer, consumers, the fetcher) inherits these.
    ...(resolved.ssl ? { ssl: resolved.ssl } : {}),
    // kafkajs types SASL per mechanism; ours is the same shape with the mechanism as a union.
    ...(resolved.sasl ? { sasl: resolved.sasl as SASLOptions } : {}),
  });
  const admin = kafka.admin({ retry });
  const producer = kafka.producer({
    idempotent: true,
    // kafkajs serialises an idempotent producer's requests per broker anyway; one in flight keeps
    // its sequence numbers simple to reason about.
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry,
  });
  const health = new HealthTracker();
  try {
    await admin.connect();
    await producer.connect();
    health.up();
  } catch (error) {
    await Promise.allSettled([admin.disconnect(), producer.disconnect()]);
    router.flush();
    throw translateError(`connect to Kafka at ${resolved.brokers.join(",")}`, error);
  }
  return new KafkaLog(
    resolved,
    kafka,
    admin,
    producer,
    new WireFetcher(resolved, router.logCreator),
    router,
    health,
  );
}
