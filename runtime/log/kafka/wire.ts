/**
 * A fetch from one partition at one offset, without a consumer group.
 *
 * kafkajs has no public API for this: its consumer always joins a group (manual assignment,
 * tulios/kafkajs#373, was never released). A throwaway group per read would cost a join (and on a
 * broker with the default `group.initial.rebalance.delay.ms`, 3 s) for every read, which the shard
 * does whenever it fills a gap. So `read` uses the same building blocks the kafkajs consumer uses
 * inside: its Cluster (connections, metadata, leader lookup), Broker.fetch, and its Batch (which
 * drops records below the fetch offset, control records and aborted transactions). Only this file
 * touches kafkajs internals; their types are in `kafkajs-internals.d.ts`.
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

/** Kafka's READ_COMMITTED, as the kafkajs consumer uses by default. */
const READ_COMMITTED = 1;
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

  private async fetchOnce(
    topic: string,
    partition: number,
    offset: number,
    maxBytes: number,
  ): Promise<FetchResult> {
    const cluster = await this.connected();
    await cluster.addTargetTopic(topic);
    const leaders = cluster.findLeaderForPartitions(topic, [partition]);
    const nodeId = Object.keys(leaders)[0];
    if (nodeId === undefined) {
      throw new ValidationError("partition", `${partition} is not a partition of topic "${topic}"`);
    }
    const broker = await cluster.findBroker({ nodeId });
    const fetchOffset = String(offset);
    const response = await broker.fetch({
      isolationLevel: READ_COMMITTED,
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
   * @throws ValidationError for a partition the topic does not have; a translated error once
   * retries run out.
   */
  async fetch(
    topic: string,
    partition: number,
    offset: number,
    maxBytes: number,
  ): Promise<FetchResult> {
    const { retries, initialRetryTimeMs, maxRetryTimeMs } = this.options.retry;
    let delayMs = initialRetryTimeMs;
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.fetchOnce(topic, partition, offset, maxBytes);
      } catch (error) {
        if (error instanceof ValidationError) throw error;
        if ((error as Error).name === "KafkaJSOffsetOutOfRange") return { kind: "out_of_range" };
        const type = (error as { type?: string }).type;
        const retriable =
          isConnectionError(error) ||
          (type !== undefined && STALE_METADATA.has(type)) ||
          (error as { retriable?: boolean }).retriable === true;
        const operation = `read ${topic}/${partition} at ${offset}`;
        if (!retriable) throw translateError(operation, error);
        if (attempt >= retries) {
          throw translateError(
            operation,
            Object.assign(new Error((error as Error).message), {
              name: "KafkaJSNumberOfRetriesExceeded",
              retryCount: attempt,
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
