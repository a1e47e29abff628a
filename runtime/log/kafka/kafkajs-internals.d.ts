/**
 * Types for the few kafkajs 2.2.4 internals that `wire.ts` uses (kafkajs ships no types for
 * them). kafkajs has no public API for a fetch without a consumer group; these modules are the
 * ones its own consumer uses. kafkajs is pinned to an exact version (bunfig `exact`) and the
 * project is archived upstream, so these shapes do not move under us; if kafkajs is ever
 * upgraded, `wire.ts` and this file are the places to check.
 */

declare module "kafkajs/src/cluster/index.js" {
  import type { KafkaMessage, logCreator, RetryOptions } from "kafkajs";

  /** A message as the fetch decoder yields it, before the consumer's own filtering. */
  export type WireMessage = KafkaMessage & { isControlRecord?: boolean };

  export interface WirePartitionData {
    partition: number;
    errorCode: number;
    highWatermark: string;
    abortedTransactions?: { producerId: string; firstOffset: string }[];
    messages: WireMessage[];
  }

  export interface WireFetchResponse {
    responses: { topicName: string; partitions: WirePartitionData[] }[];
  }

  export interface WireBroker {
    fetch(request: {
      isolationLevel: number;
      maxWaitTime: number;
      minBytes: number;
      maxBytes: number;
      topics: {
        topic: string;
        partitions: { partition: number; fetchOffset: string; maxBytes: number }[];
      }[];
    }): Promise<WireFetchResponse>;
  }

  export interface InternalLogger {
    namespace(name: string): InternalLogger;
  }

  export interface ClusterOptions {
    logger: InternalLogger;
    socketFactory: unknown;
    brokers: string[];
    clientId: string;
    connectionTimeout: number;
    requestTimeout: number;
    enforceRequestTimeout: boolean;
    metadataMaxAge: number;
    retry: RetryOptions;
    allowAutoTopicCreation: boolean;
    maxInFlightRequests: number | null;
    isolationLevel: number;
    instrumentationEmitter: null;
    offsets: Map<string, unknown>;
    /** As kafkajs's KafkaConfig `ssl` and `sasl`. */
    ssl?: unknown;
    sasl?: unknown;
  }

  export default class Cluster {
    constructor(options: ClusterOptions);
    connect(): Promise<void>;
    disconnect(): Promise<void>;
    isConnected(): boolean;
    refreshMetadata(): Promise<void>;
    addTargetTopic(topic: string): Promise<void>;
    /** `{ [leaderNodeId]: partitions[] }` from the cached metadata. */
    findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
    findBroker(node: { nodeId: string | number }): Promise<WireBroker>;
  }

  export type { logCreator };
}

declare module "kafkajs/src/loggers/index.js" {
  import type { logCreator, logLevel } from "kafkajs";
  import type { InternalLogger } from "kafkajs/src/cluster/index.js";
  export function createLogger(options: {
    level: logLevel;
    logCreator: logCreator;
  }): InternalLogger;
}

declare module "kafkajs/src/network/socketFactory.js" {
  const createSocketFactory: () => unknown;
  export default createSocketFactory;
}

declare module "kafkajs/src/consumer/batch.js" {
  import type { WireMessage, WirePartitionData } from "kafkajs/src/cluster/index.js";
  /** The consumer's batch: drops records below the fetch offset, control and aborted records. */
  export default class Batch {
    constructor(topic: string, fetchedOffset: string, partitionData: WirePartitionData);
    readonly messages: WireMessage[];
    readonly highWatermark: string;
    isEmpty(): boolean;
    /** Offset of the last record the broker returned (filtered or not), as a string. */
    lastOffset(): string;
    /** True when the broker returned records but all were filtered out. */
    isEmptyDueToFiltering(): boolean;
    isEmptyIncludingFiltered(): boolean;
  }
}
