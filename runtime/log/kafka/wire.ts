/**
 * A fetch from one partition at one offset, without a consumer group.
 *
 * kafkajs has no public API for this: its consumer always joins a group (manual assignment,
 * tulios/kafkajs#373, was never released). A throwaway group per read would cost a join (and on a
 * broker with the default `group.initial.rebalance.delay.ms`, 3 s) for every read, which the shard
 * does whenever it fills a gap. So `read` uses the same building blocks the kafkajs consumer uses
 * inside: its Cluster (connections, metadata, leader lookup), Broker.fetch, and its Batch (which
 * drops records below the fetch offset, control records and aborted transactions). It also asks a
 * partition's leader for its high watermark, which the admin client cannot give (its offsets are
 * read_committed). Only this file touches kafkajs internals; their types are in
 * `kafkajs-internals.d.ts`.
 */
import { type logCreator, logLevel } from "kafkajs";
import Cluster, { type WireMessage } from "kafkajs/src/cluster/index.js";
import Batch from "kafkajs/src/consumer/batch.js";
import { createLogger } from "kafkajs/src/loggers/index.js";
import createSocketFactory from "kafkajs/src/network/socketFactory.js";
import { ValidationError } from "../../errors.ts";
import { toOffset } from "./codec.ts";
import { translateError } from "./errors.ts";
import { isConnectionError } from "./health.ts";
import { kafkajsRetry, type ResolvedKafkaLogOptions } from "./options.ts";

/** What one fetch returned. */
export type FetchResult =
  | {
      kind: "records";
      /** Records at or after the fetch offset, control and aborted records removed. */
      records: WireMessage[];
      /** Offset after the last record the broker returned (filtered or not); null when none. */
      nextOffset: number | null;
    }
  | { kind: "out_of_range" };

/**
 * Which records a fetch sees. `read_committed` (Kafka's isolation level 1, the kafkajs consumer's
 * default) stops at the last stable offset and drops aborted transactions; `read_uncommitted`
 * (level 0) reads up to the high watermark, open and aborted transactions included.
 */
export type Isolation = "read_committed" | "read_uncommitted";

/** Kafka's READ_COMMITTED, as the kafkajs consumer uses by default. */
const READ_COMMITTED = 1;
const READ_UNCOMMITTED = 0;
/** ListOffsets' "latest" timestamp: the end of the partition for the request's isolation level. */
const LATEST_TIMESTAMP = "-1";

function isolationLevel(isolation: Isolation): number {
  return isolation === "read_committed" ? READ_COMMITTED : READ_UNCOMMITTED;
}

/**
 * `Broker.listOffsets`, which `kafkajs-internals.d.ts` does not declare (kafkajs 2.2.4,
 * `src/broker/index.js`): the one call here that is not on the consumer's fetch path.
 */
interface ListOffsetsBroker {
  listOffsets(request: {
    isolationLevel: number;
    topics: { topic: string; partitions: { partition: number; timestamp: string }[] }[];
  }): Promise<{
    responses: { topic: string; partitions: { partition: number; offset: string }[] }[];
  }>;
}
/** How long the broker may wait for data; `read` only wants what is there already. */
const FETCH_MAX_WAIT_MS = 100;

/** Errors after which the cached metadata (leaders, connections) is suspect. */
const STALE_METADATA = new Set([
  "LEADER_NOT_AVAILABLE",
  "NOT_LEADER_FOR_PARTITION",
  "FENCED_LEADER_EPOCH",
  "UNKNOWN_LEADER_EPOCH",
  "UNKNOWN_TOPIC_OR_PARTITION",
]);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Fetches for `read`, over one lazily opened kafkajs Cluster. */
export class WireFetcher {
  private cluster: Cluster | null = null;

  constructor(
    private readonly options: ResolvedKafkaLogOptions,
    private readonly logs: logCreator,
  ) {}

  private async connected(): Promise<Cluster> {
    if (this.cluster) return this.cluster;
    const { brokers, clientId, connectionTimeoutMs, requestTimeoutMs, retry } = this.options;
    const cluster = new Cluster({
      logger: createLogger({ level: logLevel.WARN, logCreator: this.logs }),
      socketFactory: createSocketFactory(),
      brokers,
      clientId: `${clientId}.reader`,
      connectionTimeout: connectionTimeoutMs,
      requestTimeout: requestTimeoutMs,
      enforceRequestTimeout: true,
      metadataMaxAge: 300_000,
      // Our own loop below retries; the cluster's retrier covers only its metadata calls.
      retry: kafkajsRetry({ ...retry, retries: 1 }),
      allowAutoTopicCreation: false,
      maxInFlightRequests: null,
      isolationLevel: READ_COMMITTED,
      instrumentationEmitter: null,
      offsets: new Map(),
      // The same TLS and SASL as the log's other clients (openKafkaLog).
      ...(this.options.ssl ? { ssl: this.options.ssl } : {}),
      ...(this.options.sasl ? { sasl: this.options.sasl } : {}),
    });
    await cluster.connect();
    this.cluster = cluster;
    return cluster;
  }

  /** Drops the cluster so the next attempt reconnects and reloads metadata from scratch. */
  private async reset(): Promise<void> {
    const cluster = this.cluster;
    this.cluster = null;
    await cluster?.disconnect().catch(() => undefined);
  }

  /** The broker that leads `topic`/`partition`, from the cached metadata. */
  private async leader(topic: string, partition: number) {
    const cluster = await this.connected();
    await cluster.addTargetTopic(topic);
    const leaders = cluster.findLeaderForPartitions(topic, [partition]);
    const nodeId = Object.keys(leaders)[0];
    if (nodeId === undefined) {
      throw new ValidationError("partition", `${partition} is not a partition of topic "${topic}"`);
    }
    return cluster.findBroker({ nodeId });
  }

  private async fetchOnce(
    topic: string,
    partition: number,
    offset: number,
    maxBytes: number,
    isolation: Isolation,
  ): Promise<FetchResult> {
    const broker = await this.leader(topic, partition);
    const fetchOffset = String(offset);
    const response = await broker.fetch({
      isolationLevel: isolationLevel(isolation),
      maxWaitTime: FETCH_MAX_WAIT_MS,
      minBytes: 1,
      maxBytes,
      topics: [{ topic, partitions: [{ partition, fetchOffset, maxBytes }] }],
    });
    const data = response.responses
      .find((r) => r.topicName === topic)
      ?.partitions.find((p) => p.partition === partition);
    if (!data) return { kind: "records", records: [], nextOffset: null };
    const batch = new Batch(topic, fetchOffset, data);
    const last = data.messages[data.messages.length - 1];
    return {
      kind: "records",
      records: batch.messages,
      nextOffset: last ? toOffset(last.offset, "offset") + 1 : null,
    };
  }

  /**
   * Fetches up to about `maxBytes` from `topic`/`partition` at `offset`, retrying connection and
   * leadership errors with the log's bounded backoff.
   * @param isolation `read_committed` unless said otherwise (what `read` has always done).
   * @throws ValidationError for a partition the topic does not have; a translated error once
   * retries run out.
   */
  async fetch(
    topic: string,
    partition: number,
    offset: number,
    maxBytes: number,
    isolation: Isolation = "read_committed",
  ): Promise<FetchResult> {
    return this.retrying(`read ${topic}/${partition} at ${offset}`, async () => {
      try {
        return await this.fetchOnce(topic, partition, offset, maxBytes, isolation);
      } catch (error) {
        if ((error as Error).name === "KafkaJSOffsetOutOfRange") return { kind: "out_of_range" };
        throw error;
      }
    });
  }

  /**
   * The partition's high watermark: the offset after its last record, open transactions included.
   * (The admin client's offsets are read_committed, so their end is the last stable offset.)
   */
  async highWatermark(topic: string, partition: number): Promise<number> {
    return this.retrying(`high watermark of ${topic}/${partition}`, async () => {
      const broker = (await this.leader(topic, partition)) as unknown as ListOffsetsBroker;
      const response = await broker.listOffsets({
        isolationLevel: READ_UNCOMMITTED,
        topics: [{ topic, partitions: [{ partition, timestamp: LATEST_TIMESTAMP }] }],
      });
      const entry = response.responses
        .find((r) => r.topic === topic)
        ?.partitions.find((p) => p.partition === partition);
      if (!entry) throw new Error(`kafka: no offset for ${topic}/${partition} in the response`);
      return toOffset(entry.offset, "high watermark");
    });
  }

  /** Runs `attempt`, retrying connection and leadership errors with the log's bounded backoff. */
  private async retrying<T>(operation: string, attempt: () => Promise<T>): Promise<T> {
    const { retries, initialRetryTimeMs, maxRetryTimeMs } = this.options.retry;
    let delayMs = initialRetryTimeMs;
    for (let attemptNo = 0; ; attemptNo += 1) {
      try {
        return await attempt();
      } catch (error) {
        if (error instanceof ValidationError) throw error;
        const type = (error as { type?: string }).type;
        const retriable =
          isConnectionError(error) ||
          (type !== undefined && STALE_METADATA.has(type)) ||
          (error as { retriable?: boolean }).retriable === true;
        if (!retriable) throw translateError(operation, error);
        if (attemptNo >= retries) {
          throw translateError(
            operation,
            Object.assign(new Error((error as Error).message), {
              name: "KafkaJSNumberOfRetriesExceeded",
              retryCount: attemptNo,
              cause: error,
            }),
          );
        }
        await this.reset();
        await sleep(delayMs);
        delayMs = Math.min(delayMs * 2, maxRetryTimeMs);
      }
    }
  }

  async close(): Promise<void> {
    await this.reset();
  }
}
