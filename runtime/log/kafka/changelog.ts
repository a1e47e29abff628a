/**
 * The shard changelog on Kafka: `ShardChangelog` (`runtime/shard/changelog.ts`) over a compacted
 * topic `<appId>-<usecase>-changelog`, partitioned like the shards' input topic, written in Kafka
 * transactions that also commit the input group's offset. See docs/kafka.md, "The shard changelog".
 *
 * Ownership is fenced as in Kafka Streams' first exactly-once mode ("alpha"): one transactional
 * producer per partition, with a transactional id that is the same for every owner of that
 * partition. A new owner's producer initialises the id, which bumps its epoch: the broker aborts
 * what the previous owner left open and refuses its later writes, so a process that lost the
 * partition and still publishes fails instead of overwriting the new owner's state.
 *
 * Records: an entity's state is key = entity key (UTF-8), value = the state's encoded bytes. A position
 * is key = `\u0000pos\u0000<topic>\u0000<partition>`, value = the next offset as decimal text.
 * The shard's processor's journal entry (`BatchProcessor.checkpoint`) is split into parts of at
 * most `JOURNAL_PART_BYTES`: key = `\u0000jrn\u0000<seq>\u0000<part>\u0000<parts>`, value = the
 * part's bytes; the entries an append drops are deleted (a tombstone for each of their parts,
 * whose number their size gives). Entity keys must not start with NUL, which keeps them apart.
 */
import type { Message, Producer, Transaction } from "kafkajs";
import {
  CoelhoError,
  RetriableError,
  RetriesExhaustedError,
  ValidationError,
} from "../../errors.ts";
import { createLogger, type Logger } from "../../logger.ts";
import type { ShardChangelog, SourcePosition } from "../../shard/changelog.ts";
import type { JournalAppend, JournalEntry } from "../../shard/entity-model.ts";
import { protocolType, translateError } from "./errors.ts";
import type { KafkaLog } from "./kafka-log.ts";

/** Options of `createKafkaChangelog`. */
export interface KafkaChangelogOptions {
  /** The application's id: the prefix of the topic and of the transactional ids. */
  appId: string;
  /** The use case (e.g. `fraud`). */
  usecase: string;
  /** The topic the shards read (the input or its repartition topic); the changelog mirrors its partitions. */
  inputTopic: string;
  /**
   * Every topic the shards read, `inputTopic` first, partitioned alike (a use case's keyed
   * inputs); default `[inputTopic]`. `publish` commits the group's offset on each.
   */
  inputTopics?: string[];
  /** The shards' consumer group: `publish` commits its offset on the input topics. */
  group: string;
  /** The changelog's partition count; defaults to the input topic's, and must equal it. */
  partitions?: number;
  /** How long a transaction may stay open before the broker aborts it; above any one publish. */
  transactionTimeoutMs?: number;
  /** Bytes (keys, values, framing) per produce request at most; a larger record goes alone. */
  chunkBytesMax?: number;
  /** Records per produce request at most. */
  chunkRecordsMax?: number;
  /** How long `restore` waits for an open transaction to end before reading up to its start. */
  stableWaitMs?: number;
  /** How long `publish` waits for its commit to show in `position` and `restore`. */
  visibleWaitMs?: number;
  logger?: Logger;
}

/** Defaults of `KafkaChangelogOptions`. */
export const KAFKA_CHANGELOG_DEFAULTS = {
  transactionTimeoutMs: 30_000,
  chunkBytesMax: 512 * 1024,
  chunkRecordsMax: 5_000,
  stableWaitMs: 5_000,
  visibleWaitMs: 5_000,
} as const;

/**
 * Another process took the partition's transactional id (it owns the partition now), or this
 * process's transaction outlived the transaction timeout and the broker aborted it. Kafka's old
 * protocol versions, which kafkajs speaks, answer both with INVALID_PRODUCER_EPOCH. A failure, not
 * retriable: the shard must stop writing; the partition stays fenced here until `release`.
 */
export class ChangelogFencedError extends CoelhoError {
  readonly partition: number;
  constructor(message: string, partition: number, cause?: unknown) {
    super("changelog_fenced", message, { cause });
    this.partition = partition;
  }
}

/** Every key the changelog writes for itself starts with NUL; entity keys never do. */
const RESERVED_PREFIX = "\u0000";
const POSITION_PREFIX = "\u0000pos\u0000";
const JOURNAL_PREFIX = "\u0000jrn\u0000";
/** A journal entry's bytes per record, under one record's bound with its key and framing. */
const JOURNAL_PART_BYTES = 900_000;
/** An upper estimate of a record's framing in a batch (lengths, deltas, attributes as varints). */
const RECORD_OVERHEAD_BYTES = 32;
/** Below the broker's default `max.message.bytes` (1 MiB for a whole batch). */
const RECORD_BYTES_MAX = 1_000_000;
/** Records per `read` while restoring. */
const RESTORE_READ_RECORDS = 100_000;
/** Whole-transaction attempts for errors that a fresh producer fixes. */
const PUBLISH_ATTEMPTS_MAX = 3;
const PUBLISH_RETRY_DELAY_MS_INITIAL = 200;
const PUBLISH_RETRY_DELAY_MS_MAX = 2_000;
const POLL_DELAY_MS_INITIAL = 10;
const POLL_DELAY_MS_MAX = 200;
const ACKS_ALL = -1;
const NAME_PART = /^[a-zA-Z0-9._-]+$/;
/** Error types that say another producer holds the transactional id (or ours was expired). */
const FENCED_TYPES = new Set(["INVALID_PRODUCER_EPOCH", "PRODUCER_FENCED"]);
/** Error types after which a new producer (a new InitProducerId) can go on. */
const REINIT_TYPES = new Set(["INVALID_PRODUCER_ID_MAPPING", "OUT_OF_ORDER_SEQUENCE_NUMBER"]);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const utf8 = new TextDecoder();

/** True when `error` (or a cause) is Kafka telling this producer it is fenced. */
function isFenced(error: unknown): boolean {
  const type = protocolType(error);
  if (type !== undefined && FENCED_TYPES.has(type)) return true;
  // kafkajs 2.2.4 predates PRODUCER_FENCED (code 90) and names it by number.
  return type === "KAFKAJS_UNKNOWN_ERROR_CODE" && /\b90\b/.test(String((error as Error).message));
}

function positiveInt(path: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ValidationError(path, `${value} is not valid; expected a positive integer`);
  }
  return value;
}

function namePart(path: string, value: string): string {
  if (typeof value !== "string" || !NAME_PART.test(value)) {
    throw new ValidationError(
      path,
      `"${value}" is not valid; expected letters, digits, ".", "_" or "-" (it is part of a topic name)`,
    );
  }
  return value;
}

function positionKey(position: SourcePosition): string {
  return `${POSITION_PREFIX}${position.topic}\u0000${position.partition}`;
}

/** Records a journal entry of `bytes` bytes is split into (at least one). */
function journalParts(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / JOURNAL_PART_BYTES));
}

function journalKey(seq: number, part: number, parts: number): string {
  return `${JOURNAL_PREFIX}${seq}\u0000${part}\u0000${parts}`;
}

/** The seq, part and part count a journal record's key holds, or null when malformed. */
function parseJournalKey(key: string): { seq: number; part: number; parts: number } | null {
  const fields = key.slice(JOURNAL_PREFIX.length).split("\u0000");
  if (fields.length !== 3 || fields.some((f) => !/^\d+$/.test(f))) return null;
  const [seq, part, parts] = fields.map(Number) as [number, number, number];
  if (seq < 1 || parts < 1 || part >= parts) return null;
  return { seq, part, parts };
}

/** Checks a journal append's numbers; the records to write (parts, then tombstones). */
function journalRecords(journal: JournalAppend): [string, Uint8Array | null][] {
  const { seq, bytes, keepFrom, dropped } = journal;
  if (!Number.isSafeInteger(seq) || seq < 1 || !(bytes instanceof Uint8Array)) {
    throw new ValidationError("journal", `entry ${seq} is not a seq >= 1 with bytes`);
  }
  if (!Number.isSafeInteger(keepFrom) || keepFrom < 1 || keepFrom > seq) {
    throw new ValidationError("journal.keepFrom", `${keepFrom}; expected 1..${seq}`);
  }
  const records: [string, Uint8Array | null][] = [];
  const parts = journalParts(bytes.length);
  for (let part = 0; part < parts; part++) {
    const from = part * JOURNAL_PART_BYTES;
    records.push([journalKey(seq, part, parts), bytes.subarray(from, from + JOURNAL_PART_BYTES)]);
  }
  for (const gone of dropped) {
    if (!(gone.seq < keepFrom) || !Number.isSafeInteger(gone.bytes) || gone.bytes < 0) {
      throw new ValidationError(
        "journal.dropped",
        `entry ${gone.seq} of ${gone.bytes} bytes; expected an entry below keepFrom ${keepFrom}`,
      );
    }
    const goneParts = journalParts(gone.bytes);
    for (let part = 0; part < goneParts; part++) {
      records.push([journalKey(gone.seq, part, goneParts), null]);
    }
  }
  return records;
}

/** The position a position record holds, or null when the record is not a well-formed one. */
function parsePosition(key: string, value: string): SourcePosition | null {
  const rest = key.slice(POSITION_PREFIX.length);
  const cut = rest.lastIndexOf("\u0000");
  const topic = rest.slice(0, cut);
  const partition = Number(rest.slice(cut + 1));
  const nextOffset = Number(value);
  if (cut < 1 || !Number.isSafeInteger(partition) || partition < 0) return null;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(nextOffset)) return null;
  return { topic, partition, nextOffset };
}

/**
 * Checks positions; returns those of the input partitions (in `inputTopics` order), which the
 * group commit needs.
 */
function validatePositions(
  positions: SourcePosition[],
  inputTopics: string[],
  partition: number,
): SourcePosition[] {
  if (!Array.isArray(positions)) throw new ValidationError("positions", "is not an array");
  const seen = new Set<string>();
  const inputs = new Map<string, SourcePosition>();
  positions.forEach((p, i) => {
    if (typeof p?.topic !== "string" || p.topic === "" || p.topic.includes("\u0000")) {
      throw new ValidationError(
        `positions[${i}].topic`,
        `${JSON.stringify(p?.topic)} is not a topic name`,
      );
    }
    if (!Number.isSafeInteger(p.partition) || p.partition < 0) {
      throw new ValidationError(
        `positions[${i}].partition`,
        `${p.partition} is not an integer >= 0`,
      );
    }
    if (!Number.isSafeInteger(p.nextOffset) || p.nextOffset < 0) {
      throw new ValidationError(
        `positions[${i}].nextOffset`,
        `${p.nextOffset} is not an integer >= 0`,
      );
    }
    const id = `${p.topic}\u0000${p.partition}`;
    if (seen.has(id)) {
      throw new ValidationError(`positions[${i}]`, `${p.topic}/${p.partition} is listed twice`);
    }
    seen.add(id);
    if (p.partition === partition && inputTopics.includes(p.topic)) inputs.set(p.topic, p);
  });
  return inputTopics.map((topic) => {
    const input = inputs.get(topic);
    if (!input) {
      throw new ValidationError(
        "positions",
        `has no position for ${topic}/${partition}; expected the input position the states include`,
      );
    }
    return input;
  });
}

/** Checks entries' types and keys without encoding them; returns them as an array to replay. */
export function validateStates(states: Iterable<[string, Uint8Array]>): [string, Uint8Array][] {
  const entries = Array.isArray(states) ? states : Array.from(states);
  entries.forEach((entry, i) => {
    const [key, state] = Array.isArray(entry) ? entry : [];
    if (typeof key !== "string" || !(state instanceof Uint8Array)) {
      throw new ValidationError(
        `states[${i}]`,
        "is not a [key, encoded state] pair of a string and bytes (Uint8Array)",
      );
    }
    if (key.startsWith(RESERVED_PREFIX)) {
      throw new ValidationError(
        `states[${i}]`,
        `key ${JSON.stringify(key)} starts with NUL, which the changelog reserves for its own records; entity keys must not`,
      );
    }
  });
  return entries;
}

/** One partition's producer and what this process knows about its ownership. */
interface Lane {
  producer: Producer | null;
  /** Set once Kafka said another owner took the id; cleared only by `release`. */
  fenced: ChangelogFencedError | null;
  /** The publish or claim running now (settled, never rejects); they must not overlap. */
  inflight: Promise<void> | null;
}

/** A shard changelog on Kafka. Create it with `createKafkaChangelog`. */
export class KafkaChangelog implements ShardChangelog {
  /** The changelog topic, `<appId>-<usecase>-changelog`. */
  readonly topic: string;
  private readonly lanes = new Map<number, Lane>();
  private readonly logger: Logger;
  private readied: Promise<number> | null = null;
  private closed = false;

  /** @internal use `createKafkaChangelog` */
  constructor(
    private readonly log: KafkaLog,
    private readonly options: Required<Omit<KafkaChangelogOptions, "partitions" | "logger">> &
      Pick<KafkaChangelogOptions, "partitions" | "logger">,
  ) {
    this.topic = `${options.appId}-${options.usecase}-changelog`;
    this.logger = options.logger ?? createLogger({ component: "kafka-changelog" });
  }

  /** The transactional id of a partition: the same for every owner, so owners fence each other. */
  transactionalId(partition: number): string {
    return `${this.topic}-${partition}`;
  }

  /**
   * Takes the partition's transactional id now instead of at the first `publish`: the previous
   * owner is fenced, and whatever it left open is aborted (or, if it was committing, completed)
   * before this returns. Optional; a shard that calls it on assignment, before `position` and
   * `restore`, restores with nothing of the previous owner's still in flight.
   */
  async claim(partition: number): Promise<void> {
    await this.checkPartition("claim", partition);
    await this.exclusive("claim", partition, async (lane) => {
      let transaction: Transaction | null = null;
      try {
        const producer = await this.producerFor(lane, partition);
        transaction = await producer.transaction();
        // Nothing was added, so kafkajs ends it locally without a request.
        await transaction.abort();
      } catch (error) {
        throw await this.failed(
          lane,
          partition,
          transaction,
          `claim ${this.topic}/${partition}`,
          error,
        );
      }
    });
  }

  async publish(
    partition: number,
    states: Iterable<[string, Uint8Array]>,
    positions: SourcePosition[],
    journal: JournalAppend | null = null,
  ): Promise<void> {
    const inputs = validatePositions(positions, this.options.inputTopics, partition);
    // A new array when there is a journal: the caller's states stay as they were.
    const entries: [string, Uint8Array | null][] = journal
      ? [...validateStates(states), ...journalRecords(journal)]
      : validateStates(states);
    await this.checkPartition("publish", partition);
    const operation = `publish ${this.topic}/${partition}`;
    await this.exclusive("publish", partition, async (lane) => {
      let delayMs = PUBLISH_RETRY_DELAY_MS_INITIAL;
      for (let attempt = 1; ; attempt += 1) {
        try {
          const lastOffset = await this.publishOnce(lane, partition, entries, positions, inputs);
          // One transaction commits every input's offset: the first one showing is enough.
          await this.awaitVisible(partition, lastOffset, (inputs[0] as SourcePosition).nextOffset);
          return;
        } catch (error) {
          if (!(error instanceof RetriableError)) throw error;
          if (attempt >= PUBLISH_ATTEMPTS_MAX) {
            throw new RetriesExhaustedError(operation, attempt, error);
          }
          this.logger.warn("changelog publish failed; retrying with a new producer", {
            topic: this.topic,
            partition,
            attempt,
            error,
          });
          await sleep(delayMs);
          delayMs = Math.min(delayMs * 2, PUBLISH_RETRY_DELAY_MS_MAX);
        }
      }
    });
  }

  /** One transaction: the states and positions in chunks, the group's offset, the commit. */
  private async publishOnce(
    lane: Lane,
    partition: number,
    entries: [string, Uint8Array | null][],
    positions: SourcePosition[],
    inputs: SourcePosition[],
  ): Promise<number> {
    const { group } = this.options;
    let transaction: Transaction | null = null;
    try {
      const producer = await this.producerFor(lane, partition);
      // The first transaction of a producer initialises its id: that is what fences the previous
      // owner (and aborts what it left open).
      transaction = await producer.transaction();
      let lastOffset = -1;
      for (const messages of this.chunks(partition, entries, positions)) {
        const metadata = await transaction.send({ topic: this.topic, acks: ACKS_ALL, messages });
        const base = metadata.find((m) => m.partition === partition)?.baseOffset;
        if (base === undefined) {
          throw new CoelhoError(
            "kafka",
            `the produce response for ${this.topic}/${partition} has no base offset`,
          );
        }
        lastOffset = Number(base) + messages.length - 1;
      }
      await transaction.sendOffsets({
        consumerGroupId: group,
        topics: inputs.map((input) => ({
          topic: input.topic,
          partitions: [{ partition, offset: String(input.nextOffset) }],
        })),
      });
      await transaction.commit();
      return lastOffset;
    } catch (error) {
      throw await this.failed(
        lane,
        partition,
        transaction,
        `publish ${this.topic}/${partition}`,
        error,
      );
    }
  }

  /**
   * Produce requests of bounded size: states (and journal records; null is a tombstone) first,
   * positions last, each at most `chunkBytesMax` bytes and `chunkRecordsMax` records (a record
   * above the byte bound goes alone).
   */
  private *chunks(
    partition: number,
    entries: [string, Uint8Array | null][],
    positions: SourcePosition[],
  ): Generator<Message[]> {
    const { chunkBytesMax, chunkRecordsMax } = this.options;
    let chunk: Message[] = [];
    let bytes = 0;
    const records = function* (): Generator<[string, Uint8Array | string | null]> {
      yield* entries;
      for (const p of positions) yield [positionKey(p), String(p.nextOffset)];
    };
    for (const [key, state] of records()) {
      const keyBytes = Buffer.from(key, "utf8");
      // A view, not a copy: kafkajs wants a Buffer, and the bytes stay put until the send.
      const value =
        state === null
          ? null
          : typeof state === "string"
            ? Buffer.from(state, "utf8")
            : Buffer.from(state.buffer, state.byteOffset, state.byteLength);
      const size = keyBytes.length + (value?.length ?? 0) + RECORD_OVERHEAD_BYTES;
      if (size > RECORD_BYTES_MAX) {
        throw new ValidationError(
          "states",
          `the state of ${JSON.stringify(key)} takes ${size} bytes; expected at most ${RECORD_BYTES_MAX} (one Kafka record)`,
        );
      }
      if (chunk.length > 0 && (bytes + size > chunkBytesMax || chunk.length >= chunkRecordsMax)) {
        yield chunk;
        chunk = [];
        bytes = 0;
      }
      chunk.push({ key: keyBytes, value, partition });
      bytes += size;
    }
    if (chunk.length > 0) yield chunk;
  }

  /**
   * The broker writes a transaction's markers after `commit` returns, so for a few ms neither the
   * group's offset nor the changelog's last stable offset shows it. Waits (bounded) until both do,
   * so that `position` and `restore` right after `publish` see it. The commit is done either way:
   * running out of time or failing to ask is logged, not thrown.
   */
  private async awaitVisible(partition: number, lastOffset: number, nextOffset: number) {
    const tp = { topic: this.options.inputTopic, partition };
    const deadline = Date.now() + this.options.visibleWaitMs;
    let delayMs = POLL_DELAY_MS_INITIAL;
    try {
      for (;;) {
        const [stableEnd, committed] = await Promise.all([
          this.log.endOffset(this.topic, partition),
          this.log.committed(this.options.group, tp),
        ]);
        if (stableEnd > lastOffset && committed !== null && committed >= nextOffset) return;
        if (Date.now() + delayMs > deadline) {
          this.logger.warn("changelog publish committed but not yet visible; going on", {
            topic: this.topic,
            partition,
            waitedMs: this.options.visibleWaitMs,
          });
          return;
        }
        await sleep(delayMs);
        delayMs = Math.min(delayMs * 2, POLL_DELAY_MS_MAX);
      }
    } catch (error) {
      this.logger.warn("changelog publish committed; could not check that it is visible", {
        topic: this.topic,
        partition,
        error,
      });
    }
  }

  async position(partition: number, topic = this.options.inputTopic): Promise<number | null> {
    await this.checkPartition("position", partition);
    if (!this.options.inputTopics.includes(topic)) {
      throw new ValidationError(
        "topic",
        `"${topic}" is not one of the input topics ${this.options.inputTopics}`,
      );
    }
    return this.log.committed(this.options.group, { topic, partition });
  }

  /**
   * Reads the partition read_committed from its start to its last stable offset, visiting each
   * entity record in offset order, and returns the last position record of each source partition.
   * Waits up to `stableWaitMs` for an open transaction to end (a publish committing now); after
   * that it reads up to where the open transaction starts, so it never returns part of one.
   */
  async restore(
    partition: number,
    visit: (key: string, state: Uint8Array) => void,
    journal?: (entry: JournalEntry) => void,
  ): Promise<SourcePosition[]> {
    await this.checkPartition("restore", partition);
    const end = await this.stableEnd(partition);
    const positions = new Map<string, SourcePosition>();
    // Per journal entry, its part count and the parts read (the last record of each key wins).
    const entries = new Map<number, { parts: number; got: Map<number, Uint8Array> }>();
    let next = 0;
    while (next < end) {
      const records = await this.log.read(this.topic, partition, next, RESTORE_READ_RECORDS, {
        isolation: "read_committed",
        untilOffset: end,
      });
      const last = records[records.length - 1];
      if (!last) break;
      for (const record of records) {
        if (record.key === null) {
          throw new CoelhoError(
            "changelog_corrupt",
            `restore ${this.topic}/${partition}: the record at offset ${record.offset} has no key; only the changelog may write to this topic`,
          );
        }
        const key = utf8.decode(record.key);
        if (!key.startsWith(RESERVED_PREFIX)) {
          visit(key, record.value);
          continue;
        }
        if (key.startsWith(JOURNAL_PREFIX)) {
          const at = parseJournalKey(key);
          if (!at) {
            throw new CoelhoError(
              "changelog_corrupt",
              `restore ${this.topic}/${partition}: the journal record at offset ${record.offset} has a malformed key; expected \\0jrn\\0<seq>\\0<part>\\0<parts>`,
            );
          }
          let entry = entries.get(at.seq);
          if (!entry || entry.parts !== at.parts) {
            entry = { parts: at.parts, got: new Map() };
            entries.set(at.seq, entry);
          }
          // An empty value is a tombstone (a dropped entry's part).
          if (record.value.length === 0) entry.got.delete(at.part);
          else entry.got.set(at.part, record.value);
          if (entry.got.size === 0) entries.delete(at.seq);
          continue;
        }
        if (!key.startsWith(POSITION_PREFIX)) continue; // reserved for later record kinds
        const value = utf8.decode(record.value);
        const position = parsePosition(key, value);
        if (!position) {
          throw new CoelhoError(
            "changelog_corrupt",
            `restore ${this.topic}/${partition}: the position record at offset ${record.offset} is malformed (value ${JSON.stringify(value)}); expected \\0pos\\0<topic>\\0<partition> = <next offset>`,
          );
        }
        positions.set(`${position.topic}\u0000${position.partition}`, position);
      }
      next = last.offset + 1;
    }
    if (journal) {
      for (const seq of [...entries.keys()].sort((a, b) => a - b)) {
        const { parts, got } = entries.get(seq) as { parts: number; got: Map<number, Uint8Array> };
        if (got.size !== parts) {
          throw new CoelhoError(
            "changelog_corrupt",
            `restore ${this.topic}/${partition}: journal entry ${seq} has ${got.size} of its ${parts} parts; a publish writes them all in one transaction`,
          );
        }
        const chunks = Array.from({ length: parts }, (_, i) => got.get(i) as Uint8Array);
        journal({
          seq,
          bytes: chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks),
        });
      }
    }
    return [...positions.values()];
  }

  /** The last stable offset, after waiting (bounded) for open transactions to end. */
  private async stableEnd(partition: number): Promise<number> {
    const deadline = Date.now() + this.options.stableWaitMs;
    let delayMs = POLL_DELAY_MS_INITIAL;
    for (;;) {
      const { stableEnd, end } = await this.log.offsets(this.topic, partition);
      if (stableEnd >= end) return stableEnd;
      if (Date.now() + delayMs > deadline) {
        this.logger.warn(
          "changelog restore: a transaction is still open; reading up to its start",
          {
            topic: this.topic,
            partition,
            stableEnd,
            end,
            waitedMs: this.options.stableWaitMs,
          },
        );
        return stableEnd;
      }
      await sleep(delayMs);
      delayMs = Math.min(delayMs * 2, POLL_DELAY_MS_MAX);
    }
  }

  /** Disconnects the partition's producer (after a publish in flight ends) and forgets it. */
  async release(partition: number): Promise<void> {
    const lane = this.lanes.get(partition);
    if (!lane) return;
    this.lanes.delete(partition);
    await lane.inflight;
    await this.dropProducer(lane);
  }

  /** Releases every partition. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.lanes.keys()].map((partition) => this.release(partition)));
  }

  /** Creates the topic on first use and checks it mirrors the input's partitions. */
  private ready(): Promise<number> {
    this.readied ??= this.prepare().catch((error: unknown) => {
      this.readied = null;
      throw error;
    });
    return this.readied;
  }

  private async prepare(): Promise<number> {
    const { inputTopic, partitions } = this.options;
    const inputCount = await this.log.partitionCount(inputTopic);
    if (partitions !== undefined && partitions !== inputCount) {
      throw new ValidationError(
        "partitions",
        `${partitions} differs from the ${inputCount} partitions of input topic "${inputTopic}"; the changelog must have the input's count`,
      );
    }
    await this.log.ensureTopic({ name: this.topic, partitions: inputCount, compacted: true });
    const count = await this.log.partitionCount(this.topic);
    if (count !== inputCount) {
      throw new CoelhoError(
        "changelog_partitions",
        `changelog topic "${this.topic}" has ${count} partitions but input topic "${inputTopic}" has ${inputCount}; a partition's state lives in the same-numbered changelog partition, so they must match`,
      );
    }
    return count;
  }

  private async checkPartition(operation: string, partition: number): Promise<void> {
    if (this.closed) {
      throw new CoelhoError(
        "changelog_closed",
        `${operation} ${this.topic}/${partition}: the changelog is closed`,
      );
    }
    const count = await this.ready();
    if (!Number.isSafeInteger(partition) || partition < 0 || partition >= count) {
      throw new ValidationError(
        "partition",
        `${partition} is not a partition of "${this.topic}"; expected 0..${count - 1}`,
      );
    }
  }

  /** Runs `task` as the partition's only publish or claim; refuses a fenced partition. */
  private async exclusive(
    operation: string,
    partition: number,
    task: (lane: Lane) => Promise<void>,
  ): Promise<void> {
    let lane = this.lanes.get(partition);
    if (!lane) {
      lane = { producer: null, fenced: null, inflight: null };
      this.lanes.set(partition, lane);
    }
    if (lane.fenced) {
      throw new ChangelogFencedError(
        `${operation} ${this.topic}/${partition}: fenced earlier (${lane.fenced.message}); release the partition before publishing to it again`,
        partition,
        lane.fenced,
      );
    }
    if (lane.inflight) {
      // The shard publishes one checkpoint at a time; two at once is a bug in the caller.
      throw new CoelhoError(
        "changelog_busy",
        `${operation} ${this.topic}/${partition}: another publish or claim of this partition is running; they must not overlap`,
      );
    }
    const run = task(lane);
    lane.inflight = run.then(
      () => undefined,
      () => undefined,
    );
    try {
      await run;
    } finally {
      lane.inflight = null;
    }
  }

  private async producerFor(lane: Lane, partition: number): Promise<Producer> {
    if (lane.producer) return lane.producer;
    const producer = this.log.transactionalProducer({
      transactionalId: this.transactionalId(partition),
      transactionTimeoutMs: this.options.transactionTimeoutMs,
    });
    // Kept before connecting, so that release and close disconnect it whatever happens next.
    lane.producer = producer;
    await producer.connect();
    return producer;
  }

  private async dropProducer(lane: Lane): Promise<void> {
    const producer = lane.producer;
    lane.producer = null;
    await producer?.disconnect().catch(() => undefined);
  }

  /**
   * After a failed transaction: abort it (so readers need not wait for its timeout), drop the
   * producer (kafkajs cannot begin again after a failed commit, and a new one re-initialises the
   * id, which also ends anything of ours left open) and say what kind of error it was.
   */
  private async failed(
    lane: Lane,
    partition: number,
    transaction: Transaction | null,
    operation: string,
    error: unknown,
  ): Promise<Error> {
    if (isFenced(error)) {
      const fenced = new ChangelogFencedError(
        `${operation}: fenced: another process initialised transactional id "${this.transactionalId(partition)}" (it owns the partition now), or this transaction stayed open longer than transactionTimeoutMs (${this.options.transactionTimeoutMs} ms) and the broker aborted it; stop publishing and release the partition`,
        partition,
        error,
      );
      lane.fenced = fenced;
      await this.dropProducer(lane);
      return fenced;
    }
    if (transaction?.isActive()) await transaction.abort().catch(() => undefined);
    await this.dropProducer(lane);
    if (error instanceof CoelhoError) return error;
    const type = protocolType(error);
    if (type !== undefined && REINIT_TYPES.has(type)) {
      return new RetriableError(`${operation}: ${(error as Error).message}`, { cause: error });
    }
    return translateError(operation, error);
  }
}

/**
 * The Kafka changelog of one use case's shards. The topic is created on first use.
 * @throws ValidationError naming the option that is wrong.
 *
 * @example
 * const changelog = createKafkaChangelog(log, {
 *   appId: "coelho", usecase: "fraud", inputTopic: "fraud.events", group: "coelho-fraud",
 * });
 * await changelog.publish(2, [["card-1", new TextEncoder().encode('{"count":3}')]], [{ topic: "fraud.events", partition: 2, nextOffset: 42 }]);
 */
export function createKafkaChangelog(
  log: KafkaLog,
  options: KafkaChangelogOptions,
): KafkaChangelog {
  namePart("appId", options.appId);
  namePart("usecase", options.usecase);
  if (typeof options.inputTopic !== "string" || options.inputTopic === "") {
    throw new ValidationError("inputTopic", "is empty; expected the topic the shards read");
  }
  if (typeof options.group !== "string" || options.group === "") {
    throw new ValidationError("group", "is empty; expected the shards' consumer group");
  }
  if (options.partitions !== undefined) positiveInt("partitions", options.partitions);
  const inputTopics = options.inputTopics ?? [options.inputTopic];
  if (
    !Array.isArray(inputTopics) ||
    inputTopics[0] !== options.inputTopic ||
    inputTopics.some((t) => typeof t !== "string" || t === "") ||
    new Set(inputTopics).size !== inputTopics.length
  ) {
    throw new ValidationError(
      "inputTopics",
      `${JSON.stringify(inputTopics)} is not a list of distinct topics starting with inputTopic "${options.inputTopic}"`,
    );
  }
  const d = KAFKA_CHANGELOG_DEFAULTS;
  return new KafkaChangelog(log, {
    appId: options.appId,
    usecase: options.usecase,
    inputTopic: options.inputTopic,
    inputTopics,
    group: options.group,
    partitions: options.partitions,
    transactionTimeoutMs: positiveInt(
      "transactionTimeoutMs",
      options.transactionTimeoutMs ?? d.transactionTimeoutMs,
    ),
    chunkBytesMax: positiveInt("chunkBytesMax", options.chunkBytesMax ?? d.chunkBytesMax),
    chunkRecordsMax: positiveInt("chunkRecordsMax", options.chunkRecordsMax ?? d.chunkRecordsMax),
    stableWaitMs: positiveInt("stableWaitMs", options.stableWaitMs ?? d.stableWaitMs),
    visibleWaitMs: positiveInt("visibleWaitMs", options.visibleWaitMs ?? d.visibleWaitMs),
    logger: options.logger,
  });
}
