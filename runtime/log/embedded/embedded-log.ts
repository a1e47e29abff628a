/**
 * The embedded durable log: the {@link Log} that runs inside the process, on local disk, so
 * `bun start` on a laptop is the whole platform (DESIGN.md). The layout of its folder:
 *
 * ```
 * <dir>/LOCK                                   pid of the process that has it open
 * <dir>/FORMAT                                 on-disk format version
 * <dir>/topics/<topic>/topic.json              partition count, compacted and replayable flags
 * <dir>/topics/<topic>/<partition>/<base>.log  segments of record frames
 * <dir>/groups/<group>.json                    committed group positions
 * ```
 *
 * See docs/embedded-log.md for the formats, the fsync policies and what each one guarantees.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { CoelhoError, ValidationError } from "../../errors.ts";
import { recordAppended } from "../../metrics.ts";
import type {
  ConsumeOptions,
  Consumer,
  Log,
  LogRecord,
  StoredRecord,
  TopicPartition,
  TopicSpec,
} from "../log.ts";
import { recordsByPartition } from "../partitioner.ts";
import { writeFileAtomicSync } from "./atomic-file.ts";
import { EmbeddedConsumer } from "./consumer.ts";
import { GroupOffsets, validateGroupName } from "./group-offsets.ts";
import { acquireDirectoryLock, type DirectoryLock } from "./lock.ts";
import type { FsyncPolicy, Partition, PartitionRecovery, RetentionPolicy } from "./partition.ts";
import { BatchEncoder } from "./record-codec.ts";
import { type PartitionSettings, Topic, validateTopicName } from "./topic.ts";

/** Most records in one `append` call (and per partition per `produce` chunk). */
export const APPEND_RECORDS_MAX = 100_000;
/** Most records one `read` returns; ask again for more. */
export const READ_RECORDS_MAX = 100_000;
/** Segment sizes accepted: small enough for 32-bit positions with a full batch on top. */
export const SEGMENT_BYTES_MIN = 4096;
export const SEGMENT_BYTES_MAX = 1 << 30;
/** Bytes last appended kept in memory per written partition, for reads (see tail-cache.ts). */
export const TAIL_CACHE_BYTES_DEFAULT = 256 << 10;
const TAIL_CACHE_BYTES_MAX = 64 << 20;

const FORMAT_FILE = "FORMAT";
const FORMAT = "coelho-embedded-log 1";

export interface EmbeddedLogOptions {
  /** Folder of the log; created if absent. One process at a time (see the lock). */
  dir: string;
  /**
   * `always` (default): an append resolves after its fsync. `interval`: a background fsync every
   * `fsyncIntervalMs`. `never`: the OS writes back when it likes. See docs/embedded-log.md.
   */
  fsync?: FsyncPolicy;
  /** Period of the background fsync with `fsync: "interval"`; default 200 ms. */
  fsyncIntervalMs?: number;
  /** Size at which a segment is sealed and a new one started; default 64 MiB. */
  segmentBytes?: number;
  /** Size and age limits per partition; default none. Compacted topics are exempt. */
  retention?: RetentionPolicy;
  /**
   * How often retention and compaction run in the background; default 30 s. (Size retention also
   * runs whenever a segment fills.)
   */
  maintenanceIntervalMs?: number;
  /** Check each record's CRC as it is read (default true). */
  verifyReads?: boolean;
  /**
   * Bytes last appended to each written partition kept in memory, so that reads of them copy
   * instead of reading the file back (tail-cache.ts); default 256 KiB, 0 keeps none.
   */
  tailCacheBytes?: number;
  /** Clock in ms since the epoch, for default timestamps and retention; tests pass a fake one. */
  nowMs?: () => number;
  /**
   * Hears of a consumer that stopped itself because its listener threw (it revoked every
   * partition and reads nothing more), so that its supervisor can start it again. Without it, a
   * shard failing for longer than its batch retry left its partitions unread, silently.
   */
  onConsumerFailure?: (group: string, error: unknown) => void;
}

/** What opening repaired in one partition (only partitions that needed repair are listed). */
export interface RecoveryEntry extends PartitionRecovery {
  topic: string;
  partition: number;
}

/** The log is closed: a caller kept using it after `close()`. */
export class LogClosedError extends CoelhoError {
  constructor(dir: string) {
    super("log_closed", `${dir}: the embedded log is closed; open it again to use it`);
  }
}

/**
 * Opens (creating if needed) the embedded log in `options.dir`: takes the lock, then recovers every
 * partition, cutting torn writes off the end so every acknowledged record is intact.
 *
 * @example
 * const log = await openEmbeddedLog({ dir: "./data/log", fsync: "always" });
 * await log.ensureTopic({ name: "fraud.events", partitions: 4 });
 * await log.produce("fraud.events", [{ key: utf8("card-1"), value: utf8("{}") }]);
 */
export async function openEmbeddedLog(options: EmbeddedLogOptions): Promise<EmbeddedLog> {
  return new EmbeddedLog(options);
}

export class EmbeddedLog implements Log {
  readonly kind = "embedded" as const;
  readonly dir: string;
  /** Partitions that opening had to repair (torn tails cut, damaged segments dropped). */
  readonly recovery: readonly RecoveryEntry[];
  private readonly settings: PartitionSettings;
  private readonly topicsDir: string;
  private readonly topics = new Map<string, Topic>();
  private readonly groupOffsets: GroupOffsets;
  private readonly encoder = new BatchEncoder();
  private readonly nowMs: () => number;
  private readonly onConsumerFailure: EmbeddedLogOptions["onConsumerFailure"];
  private readonly lock: DirectoryLock;
  private readonly consumers = new Map<string, EmbeddedConsumer>();
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private closed: Promise<void> | null = null;
  /** Set once `close` has stopped the consumers: from then on every call is refused. */
  private refusing = false;

  /** Prefer {@link openEmbeddedLog}. Opening is synchronous: it blocks while it recovers. */
  constructor(options: EmbeddedLogOptions) {
    const settings = validateOptions(options);
    this.dir = path.resolve(options.dir);
    this.settings = settings;
    this.nowMs = options.nowMs ?? Date.now;
    this.onConsumerFailure = options.onConsumerFailure;
    fs.mkdirSync(this.dir, { recursive: true });
    this.lock = acquireDirectoryLock(this.dir);
    try {
      checkFormat(this.dir, settings.fsync !== "never");
      this.topicsDir = path.join(this.dir, "topics");
      fs.mkdirSync(this.topicsDir, { recursive: true });
      const recovery: RecoveryEntry[] = [];
      const nowMs = this.nowMs();
      for (const name of fs.readdirSync(this.topicsDir).sort()) {
        const topicDir = path.join(this.topicsDir, name);
        if (!fs.statSync(topicDir).isDirectory()) continue;
        const topic = Topic.open(topicDir, settings, nowMs);
        if (topic === null) continue;
        this.topics.set(topic.name, topic);
        topic.partitions.forEach((partition, index) => {
          const { truncatedBytes, removedSegments } = partition.recovery;
          if (truncatedBytes > 0 || removedSegments.length > 0) {
            recovery.push({ topic: topic.name, partition: index, truncatedBytes, removedSegments });
          }
          partition.enforceRetention(nowMs);
        });
      }
      this.recovery = recovery;
      this.groupOffsets = new GroupOffsets(
        path.join(this.dir, "groups"),
        settings.fsync !== "never",
      );
    } catch (error) {
      this.lock.release();
      throw error;
    }
    this.startTimers(options);
  }

  async ensureTopic(spec: TopicSpec): Promise<void> {
    this.assertOpen();
    validateTopicName(spec.name);
    const existing = this.topics.get(spec.name);
    if (existing) {
      if (spec.replayable === true) existing.markReplayable(this.settings.fsync !== "never");
      return;
    }
    const topic = Topic.create(this.topicsDir, spec, this.settings, this.nowMs());
    this.topics.set(spec.name, topic);
  }

  async partitionCount(topic: string): Promise<number> {
    return this.topic(topic).partitions.length;
  }

  /**
   * Appends `records` to one partition in one write and resolves with the first record's offset
   * once the records are as durable as the fsync policy promises (and visible to readers).
   */
  async append(topic: string, partition: number, records: LogRecord[]): Promise<number> {
    const target = this.partition(topic, partition);
    validateRecords(records);
    const { firstOffset, durable } = this.appendTo(target, records);
    await durable;
    recordAppended(topic, records.length);
    return firstOffset;
  }

  /**
   * Appends records to the partitions their keys hash to (murmur2, as Kafka's default partitioner);
   * records without a key go round-robin. Resolves once every partition's append is durable.
   */
  async produce(topic: string, records: LogRecord[]): Promise<void> {
    const target = this.topic(topic);
    validateRecords(records, Number.POSITIVE_INFINITY);
    const byPartition = recordsByPartition(records, target.partitions.length, () =>
      target.nextRoundRobinPartition(),
    );
    const durable: Promise<void>[] = [];
    byPartition.forEach((batch, partition) => {
      for (let start = 0; start < batch.length; start += APPEND_RECORDS_MAX) {
        const chunk = batch.slice(start, start + APPEND_RECORDS_MAX);
        durable.push(this.appendTo(target.partitions[partition] as Partition, chunk).durable);
      }
    });
    await Promise.all(durable);
    recordAppended(topic, records.length);
  }

  /**
   * Up to `maxRecords` (at most {@link READ_RECORDS_MAX}) records from `fromOffset`, which is clamped
   * up to the start. Keys and values are views into one read buffer: copy those you keep for long.
   */
  async read(
    topic: string,
    partition: number,
    fromOffset: number,
    maxRecords: number,
  ): Promise<StoredRecord[]> {
    const source = this.partition(topic, partition);
    if (!Number.isSafeInteger(fromOffset) || fromOffset < 0) {
      throw new ValidationError(
        "fromOffset",
        `${fromOffset} is not an offset; expected an integer ≥ 0`,
      );
    }
    if (!Number.isInteger(maxRecords) || maxRecords < 0) {
      throw new ValidationError(
        "maxRecords",
        `${maxRecords} is not a count; expected an integer ≥ 0`,
      );
    }
    return source.read(fromOffset, Math.min(maxRecords, READ_RECORDS_MAX));
  }

  async endOffset(topic: string, partition: number): Promise<number> {
    return this.partition(topic, partition).nextOffset;
  }

  async startOffset(topic: string, partition: number): Promise<number> {
    return this.partition(topic, partition).startOffset;
  }

  /** Resolves once the records of `topic`/`partition` below `offset` are visible. */
  whenVisible(topic: string, partition: number, offset: number): Promise<void> {
    return this.partition(topic, partition).whenVisible(offset);
  }

  /**
   * Joins `group` as its only member: every partition of `topics` is assigned to this consumer.
   * A group has at most one member at a time in the embedded log.
   */
  async consume(options: ConsumeOptions): Promise<Consumer> {
    this.assertOpen();
    if (this.closed) throw new LogClosedError(this.dir);
    validateGroupName(options.group);
    if (this.consumers.has(options.group)) {
      throw new ValidationError(
        "group",
        `"${options.group}" already has a member; the embedded log allows one member per group, ` +
          "so stop the running consumer first or use another group",
      );
    }
    if (!Array.isArray(options.topics) || options.topics.length === 0) {
      throw new ValidationError("topics", "is empty; expected at least one topic to consume");
    }
    const partitions = [...new Set(options.topics)].flatMap((name) =>
      this.topic(name).partitions.map((partition, index) => ({
        tp: { topic: name, partition: index },
        partition,
      })),
    );
    const consumer = new EmbeddedConsumer({
      group: options.group,
      listener: options.listener,
      maxBatch: options.maxBatch,
      aheadOfFsync: options.aheadOfFsync,
      partitions,
      onStopped: () => {
        if (this.consumers.get(options.group) === consumer) this.consumers.delete(options.group);
      },
    });
    this.consumers.set(options.group, consumer);
    consumer.done.catch((error: unknown) => this.onConsumerFailure?.(options.group, error));
    return consumer;
  }

  async commit(group: string, tp: TopicPartition, nextOffset: number): Promise<void> {
    validateGroupName(group);
    const partition = this.partition(tp.topic, tp.partition);
    if (!Number.isSafeInteger(nextOffset) || nextOffset < 0) {
      throw new ValidationError(
        "nextOffset",
        `${nextOffset} is not an offset; expected an integer ≥ 0`,
      );
    }
    // A replayable topic's readers see records before their fsync; a stored position never passes
    // what a power cut could take, or the records a replay writes again there would be skipped.
    await partition.whenVisible(Math.min(nextOffset, partition.nextOffset));
    await this.groupOffsets.commit(group, tp, nextOffset);
  }

  async committed(group: string, tp: TopicPartition): Promise<number | null> {
    this.assertOpen();
    validateGroupName(group);
    return this.groupOffsets.committed(group, tp);
  }

  /** Bytes of every segment of each topic, all partitions (the storage metrics read it). */
  topicBytes(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [name, topic] of this.topics) {
      let bytes = 0;
      for (const partition of topic.partitions) bytes += partition.sizeBytes;
      out.set(name, bytes);
    }
    return out;
  }

  /** Deletes segments past the retention limits now (it also runs on a timer and on segment roll). */
  async enforceRetention(): Promise<number> {
    this.assertOpen();
    const nowMs = this.nowMs();
    let removed = 0;
    for (const topic of this.topics.values()) {
      for (const partition of topic.partitions) removed += partition.enforceRetention(nowMs);
    }
    return removed;
  }

  /**
   * Compacts every partition of the compacted topics now, whatever the share of uncompacted bytes
   * (it also runs in the background). Returns the segments rewritten or removed.
   */
  async compact(): Promise<number> {
    this.assertOpen();
    let changed = 0;
    for (const topic of this.topics.values()) {
      for (const partition of topic.partitions) changed += partition.compact(true);
    }
    return changed;
  }

  /**
   * Stops the consumers (revoking their partitions), fsyncs what is pending, closes every file and
   * releases the lock. Idempotent.
   */
  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    try {
      // Consumers' `onRevoked` may still checkpoint, commit or append: the log serves them first.
      await Promise.allSettled([...this.consumers.values()].map((consumer) => consumer.stop()));
      this.refusing = true;
      const partitions = [...this.topics.values()].flatMap((topic) => topic.partitions);
      const results = await Promise.allSettled(partitions.map((partition) => partition.close()));
      const failed = results.find((result) => result.status === "rejected");
      if (failed) throw (failed as PromiseRejectedResult).reason;
    } finally {
      this.refusing = true;
      this.lock.release();
    }
  }

  private appendTo(
    partition: Partition,
    records: readonly LogRecord[],
  ): { firstOffset: number; durable: Promise<void> } {
    return partition.append(records, this.encoder, this.nowMs());
  }

  private startTimers(options: EmbeddedLogOptions): void {
    if (this.settings.fsync === "interval") {
      const timer = setInterval(() => {
        for (const topic of this.topics.values()) {
          // A failed fsync marks the partition failed; its next append reports it.
          for (const partition of topic.partitions) partition.flush().catch(() => {});
        }
      }, options.fsyncIntervalMs ?? 200);
      timer.unref();
      this.timers.push(timer);
    }
    const maintenance = setInterval(() => {
      if (this.refusing) return;
      const nowMs = this.nowMs();
      for (const topic of this.topics.values()) {
        for (const partition of topic.partitions) {
          try {
            partition.enforceRetention(nowMs);
            partition.compact(false);
          } catch {
            // Best effort: a failure here (a full disk) leaves the files as they were; the next
            // run retries, and appends report their own errors.
          }
        }
      }
    }, options.maintenanceIntervalMs ?? 30_000);
    maintenance.unref();
    this.timers.push(maintenance);
  }

  private topic(name: string): Topic {
    this.assertOpen();
    const topic = this.topics.get(name);
    if (topic === undefined) {
      throw new ValidationError(
        "topic",
        `"${name}" does not exist in ${this.dir}; create it with ensureTopic first`,
      );
    }
    return topic;
  }

  private partition(topicName: string, partition: number): Partition {
    const topic = this.topic(topicName);
    const found = Number.isInteger(partition) ? topic.partitions[partition] : undefined;
    if (found === undefined) {
      throw new ValidationError(
        "partition",
        `${partition} is not a partition of "${topicName}"; expected 0 to ${topic.partitions.length - 1}`,
      );
    }
    return found;
  }

  private assertOpen(): void {
    if (this.refusing) throw new LogClosedError(this.dir);
  }
}

function validateOptions(options: EmbeddedLogOptions): PartitionSettings {
  if (typeof options.dir !== "string" || options.dir.length === 0) {
    throw new ValidationError("dir", `${JSON.stringify(options.dir)} is not a folder path`);
  }
  const fsync = options.fsync ?? "always";
  if (fsync !== "always" && fsync !== "interval" && fsync !== "never") {
    throw new ValidationError(
      "fsync",
      `"${fsync}" is not a policy; expected always, interval or never`,
    );
  }
  const segmentBytes = integerInRange(
    "segmentBytes",
    options.segmentBytes ?? 64 << 20,
    SEGMENT_BYTES_MIN,
    SEGMENT_BYTES_MAX,
  );
  positiveIfSet("fsyncIntervalMs", options.fsyncIntervalMs);
  positiveIfSet("maintenanceIntervalMs", options.maintenanceIntervalMs);
  positiveIfSet("retention.maxBytes", options.retention?.maxBytes);
  positiveIfSet("retention.maxAgeMs", options.retention?.maxAgeMs);
  const tailCacheBytes = integerInRange(
    "tailCacheBytes",
    options.tailCacheBytes ?? TAIL_CACHE_BYTES_DEFAULT,
    0,
    TAIL_CACHE_BYTES_MAX,
  );
  return {
    fsync,
    segmentBytes,
    retention: options.retention ?? null,
    verifyReads: options.verifyReads ?? true,
    readBytesMax: 8 << 20,
    fetchBytesMax: 32 << 20,
    tailCacheBytes,
  };
}

/** `value`, or a ValidationError naming the option when it is not an integer in [min, max]. */
function integerInRange(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(
      name,
      `${value} is out of range; expected an integer from ${min} to ${max}`,
    );
  }
  return value;
}

function positiveIfSet(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
    throw new ValidationError(name, `${value} is not a positive number`);
  }
}

function validateRecords(records: readonly LogRecord[], max = APPEND_RECORDS_MAX): void {
  if (!Array.isArray(records)) {
    throw new ValidationError("records", "is not an array; expected an array of LogRecord");
  }
  if (records.length > max) {
    throw new ValidationError(
      "records",
      `${records.length} records in one append; expected at most ${max}, split the batch`,
    );
  }
}

/** Writes the format marker in a new log folder, or checks it in an existing one. */
function checkFormat(dir: string, durable: boolean): void {
  const formatPath = path.join(dir, FORMAT_FILE);
  if (!fs.existsSync(formatPath)) {
    writeFileAtomicSync(formatPath, `${FORMAT}\n`, durable);
    return;
  }
  const format = fs.readFileSync(formatPath, "utf8").trim();
  if (format !== FORMAT) {
    throw new ValidationError(
      formatPath,
      `holds "${format}"; this build reads "${FORMAT}", so open the folder with the version that wrote it`,
    );
  }
}
