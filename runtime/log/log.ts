/**
 * The log: the one interface between the runtime and its storage of streams.
 *
 * Everything is a log (DESIGN.md): events, labels, scores, dead letters and changelogs are topics
 * with partitions and offsets. Two implementations exist: the embedded durable log
 * (`runtime/log/embedded/`, the default) and Kafka (`runtime/log/kafka/`). Code above this
 * interface does not know which one it runs on.
 */

/** Headers are small string maps; dead letters carry their reason here. */
export type Headers = Record<string, string>;

/** A record to append. `key` decides the partition (murmur2, as Kafka's default partitioner). */
export interface LogRecord {
  key: Uint8Array | null;
  value: Uint8Array;
  headers?: Headers;
  /** Event time in ms since the epoch; defaults to the append time. */
  timestampMs?: number;
}

/** A record as read back: its partition position and timestamp are known. */
export interface StoredRecord {
  offset: number;
  key: Uint8Array | null;
  value: Uint8Array;
  headers: Headers;
  timestampMs: number;
}

export interface TopicSpec {
  name: string;
  partitions: number;
  /** Compacted topics keep the latest record per key (changelogs). */
  compacted?: boolean;
  /**
   * Its records are outputs that a processor writes again when it replays its input after a
   * crash, with the same deterministic ids (DESIGN.md: outputs are at-least-once), such as the
   * scores a shard derives from its events. The embedded log with fsync `always` then shows them
   * to readers as soon as they are written instead of after their fsync: a power cut may take
   * the newest ones, and the replay from the last checkpoint writes them again. Appends still
   * resolve after the fsync, `whenVisible` still waits for it, and a group's stored position
   * never passes it. Set on an existing embedded topic, it is kept from then on. Kafka ignores
   * it (its readers see what the in-sync replicas have, fsynced or not).
   */
  replayable?: boolean;
}

/** Position of one partition as a consumer sees it. */
export interface TopicPartition {
  topic: string;
  partition: number;
}

/**
 * What a group consumer calls as partitions come and go. Every call is awaited before the next call
 * for the same partition, so a slow `onBatch` is backpressure: nothing more is fetched for that
 * partition until it returns.
 */
export interface PartitionListener {
  /** The partition is now ours. Return the offset to start reading from (e.g. checkpoint + 1). */
  onAssigned(tp: TopicPartition): Promise<number>;
  /** Records in offset order, at most `maxBatch` of them. */
  onBatch(tp: TopicPartition, records: StoredRecord[]): Promise<void>;
  /** The partition is leaving: stop taking input, checkpoint. Nothing more arrives for it. */
  onRevoked(tp: TopicPartition): Promise<void>;
}

export interface ConsumeOptions {
  group: string;
  topics: string[];
  listener: PartitionListener;
  /** Upper bound on records per `onBatch` call. */
  maxBatch: number;
  /**
   * Deliver records as soon as they are written, before the fsync that makes them visible to
   * other readers (the embedded log with fsync `always`; elsewhere records are delivered as they
   * become visible anyway). The listener must hold back what it derives from them (outputs,
   * checkpoints) until `whenVisible` says they are durable: an output may never be visible
   * before its input.
   */
  aheadOfFsync?: boolean;
}

/** A running group membership. `stop` revokes every partition (calling `onRevoked`) and leaves. */
export interface Consumer {
  pause(tp: TopicPartition): void;
  resume(tp: TopicPartition): void;
  /** Partitions currently assigned to this member. */
  assignment(): TopicPartition[];
  stop(): Promise<void>;
}

export interface Log {
  /** Which implementation this is, for logs and readiness (`embedded` or `kafka`). */
  readonly kind: "embedded" | "kafka";
  /** Create the topic if absent; an existing topic keeps its partition count. */
  ensureTopic(spec: TopicSpec): Promise<void>;
  /** Number of partitions, or throws a ValidationError when the topic does not exist. */
  partitionCount(topic: string): Promise<number>;
  /** Append to an explicit partition; resolves with the offset of the first record once durable. */
  append(topic: string, partition: number, records: LogRecord[]): Promise<number>;
  /** Append choosing partitions by key (murmur2) or round-robin for null keys. */
  produce(topic: string, records: LogRecord[]): Promise<void>;
  /** Read up to `maxRecords` starting at `fromOffset` (clamped to the partition's start). */
  read(
    topic: string,
    partition: number,
    fromOffset: number,
    maxRecords: number,
  ): Promise<StoredRecord[]>;
  /**
   * Resolves once the partition's records below `offset` are visible to every reader (durable as
   * the log promises); at once for records already visible, which is every record Kafka delivers.
   */
  whenVisible(topic: string, partition: number, offset: number): Promise<void>;
  /** Offset the next appended record will get. */
  endOffset(topic: string, partition: number): Promise<number>;
  /** Oldest offset still retained. */
  startOffset(topic: string, partition: number): Promise<number>;
  /**
   * Join a consumer group over `topics`. Co-partitioned: a member is always assigned the same
   * partition numbers of every topic, so one listener (a shard) can read partition p of several
   * topics keyed alike. The embedded log's one member gets every partition; Kafka's members use
   * a co-partitioning assignor (`kafka/co-partitioned-assigner.ts`).
   */
  consume(options: ConsumeOptions): Promise<Consumer>;
  /** Store a group's position (the next offset to read) for one partition. */
  commit(group: string, tp: TopicPartition, nextOffset: number): Promise<void>;
  /** A group's stored position, or null when it never committed. */
  committed(group: string, tp: TopicPartition): Promise<number | null>;
  close(): Promise<void>;
}

/** Name of the dead-letter topic for a topic. */
export function deadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}
