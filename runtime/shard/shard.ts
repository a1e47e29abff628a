/**
 * A shard: the owner of one partition's entities, their state and their checkpoint.
 *
 * It reads that partition of one or more input topics keyed by the entity and partitioned alike
 * (e.g. transactions and their delayed labels, both keyed by card), and keeps one position per
 * topic. It applies each topic's records strictly in offset order from the position its state
 * includes, so state is exactly-once however records reach it: a record below the position was
 * already applied and is skipped; a record above it means records are missing (the shard
 * restarted from its checkpoint while the consumer went on), and the shard reads the gap from the
 * log itself before going on. Records of different topics interleave in the order they arrive.
 */

import { CheckpointStore } from "../checkpoint/store.ts";
import { type CheckpointWriter, checkpointWriter } from "../checkpoint/writer.ts";
import { TIMED_OUT, within } from "../deadline.ts";
import { ValidationError } from "../errors.ts";
import { deadLetterRecord } from "../log/dead-letter.ts";
import { deadLetterTopic, type Log, type LogRecord, type StoredRecord } from "../log/log.ts";
import { partitionForString } from "../log/partitioner.ts";
import type { Logger } from "../logger.ts";
import {
  type CounterSeries,
  counterSeries,
  type GaugeSeries,
  gaugeSeries,
} from "../metric-series.ts";
import {
  checkpointLagEvents,
  checkpointSeconds,
  deadLetterEvents,
  entitiesActive,
  entitiesPassivated,
  eventsIn,
} from "../metrics.ts";
import { PackedBytesBuilder, packStrings, unpackPairs } from "../packed-strings.ts";
import type { ShardChangelog, SourcePosition } from "./changelog.ts";
import { syncStoreWithChangelog } from "./changelog-restore.ts";
import type { BatchProcessor, EntityModel } from "./entity-model.ts";
import { EntityTable, type Entry } from "./entity-table.ts";

export interface ShardOptions<S, E> {
  model: EntityModel<S, E>;
  log: Log;
  /**
   * The topics this shard reads, keyed by entity and partitioned alike: the model's input topic
   * by default; a use case's keyed inputs, or its repartition topic. The first is the primary:
   * entity queries report its position.
   */
  topics?: string[];
  partition: number;
  /** The checkpoint database file of this shard. */
  storePath: string;
  maxEntities: number;
  idleMs: number;
  checkpointIntervalMs: number;
  checkpointMaxEvents: number;
  /** Records per read when the shard fills a gap itself. */
  batchMax: number;
  processor?: BatchProcessor<S, E>;
  /** Kafka mode: where checkpoints are published first, and restored from when the local is stale. */
  changelog?: ShardChangelog;
  /**
   * Called after each checkpoint with the input positions it includes (one per topic read), to
   * commit the group. Not called with a changelog, whose publish commits the group in the same
   * transaction.
   */
  onCheckpoint?: (positions: SourcePosition[]) => Promise<void>;
  /** Records larger than this go to the dead-letter topic undecoded. */
  maxEventBytes?: number;
  /**
   * The input topics' partition count. When given, a record with no key whose entity belongs to
   * another partition goes to the dead-letter topic: applied here, its entity's state would be
   * split between two shards.
   */
  partitionCount?: number;
  /** A changelog publish taking longer fails the shard (default 60 s). */
  publishTimeoutMs?: number;
  /** Where checkpoints are written (default: the process's worker thread). */
  writer?: CheckpointWriter;
  logger: Logger;
}

/** Headers the re-keying step puts on a record: where it came from. */
export const SOURCE_TOPIC_HEADER = "coelho.src.topic";
export const SOURCE_PARTITION_HEADER = "coelho.src.partition";
export const SOURCE_OFFSET_HEADER = "coelho.src.offset";

const EVENT_BYTES_MAX_DEFAULT = 64 * 1024;
/**
 * While a checkpoint write is in flight the shard goes on; past this many times
 * `checkpointMaxEvents` of unwritten input it waits for the write instead (a slow disk must slow
 * the partition down, not grow the dirty set without bound).
 */
const UNWRITTEN_LAG_FACTOR = 4;
const PUBLISH_TIMEOUT_MS_DEFAULT = 60_000;

/** Rejects when `promise` has not settled within `timeoutMs`. */
async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  const outcome = await within(promise, timeoutMs);
  if (outcome === TIMED_OUT) throw new Error(`${what} did not finish within ${timeoutMs} ms`);
  return outcome;
}

/** The topics a shard reads: those given, or its model's input topic (the primary first). */
export function shardTopics(model: EntityModel<unknown, unknown>, topics?: string[]): string[] {
  return topics ?? [model.inputTopic];
}

/** Where a shard stands in one of the topics it reads. */
export interface InputPosition {
  topic: string;
  /** First offset not yet applied to the in-memory state. */
  nextOffset: number;
  /** First offset not included in the last checkpoint. */
  checkpointedOffset: number;
}

export interface ShardStatus {
  usecase: string;
  /** The primary input topic (see `ShardOptions.topics`); `nextOffset` and `checkpointedOffset` are its. */
  topic: string;
  partition: number;
  /** First offset of the primary topic not yet applied to the in-memory state. */
  nextOffset: number;
  /** First offset of the primary topic not included in the last checkpoint. */
  checkpointedOffset: number;
  /** Every topic the shard reads, the primary first. */
  inputs: InputPosition[];
  entities: number;
  dirty: number;
  /** Re-keyed records skipped because the re-keying step wrote them again after a crash. */
  duplicatesSkipped: number;
}

/** A decoded record on its way into the state. */
interface Decoded<E> {
  record: StoredRecord;
  key: string;
  event: E;
}

/** A checkpoint's entries and their states encoded so far (see `Shard.encodeInSlices`). */
interface Snapshot<S> {
  entries: Entry<S>[];
  keys: string[];
  /** Each state's bytes, copied in as encoded (a model may encode into one reused buffer). */
  states: PackedBytesBuilder;
}

/** States encoded between two turns of the event loop while a checkpoint is taken (~1 ms). */
const SNAPSHOT_SLICE = 512;

/** (√5 − 1) / 2: multiples of it modulo 1 spread evenly over [0, 1) whatever their count. */
const GOLDEN_RATIO_FRACTION = 0.6180339887498949;

export class Shard<S, E> {
  private readonly table: EntityTable<S>;
  private store: CheckpointStore | null = null;
  /** Per topic read, in `topics` order: where the state and the last checkpoint stand. */
  private readonly inputs: InputPosition[];
  /**
   * For re-keyed input: per source topic partition, the next source offset not yet applied. The
   * re-keying step may write a record again after a crash; its source offset is then below this
   * mark and the record is skipped, so state stays exactly-once through re-keying too.
   */
  private readonly sourceMarks = new Map<string, SourcePosition>();
  private duplicatesSkipped = 0;
  /**
   * When the last checkpoint started. The first is due after a share of the interval that depends
   * on the partition, so a process's shards take turns instead of snapshotting in the same
   * millisecond each interval: one event-loop pause per shard rather than one as long as all of
   * them (the latency tail at 10k events/s in `bun run bench -- e2e-fraud`).
   */
  private lastCheckpointAtMs: number;
  /** False while every entity the store holds is also in memory: a miss then means a new key. */
  private storeMayHoldMore = false;
  /** The states of the checkpoint in `writing` while they are being encoded. */
  private snapshot: Snapshot<S> | null = null;
  /** The checkpoint being written in the background, if any: at most one at a time. */
  private writing: Promise<void> | null = null;
  /** Why the last background write failed: the shard's memory is ahead of its store for good. */
  private writeFailure: Error | null = null;
  /** Set once a crashed run's shard is abandoned: its late write results change nothing. */
  private abandoned = false;
  private readonly writer: CheckpointWriter;
  private readonly labels: { usecase: string; shard: string };
  /** Per-batch metric series, resolved once (runtime/metric-series.ts). */
  private readonly entitiesGauge: GaugeSeries;
  private readonly lagGauge: GaugeSeries;
  private readonly eventsInByTopic: Map<string, CounterSeries>;

  constructor(private readonly options: ShardOptions<S, E>) {
    this.table = new EntityTable<S>(options.maxEntities);
    this.writer = options.writer ?? checkpointWriter();
    this.labels = { usecase: options.model.name, shard: String(options.partition) };
    this.entitiesGauge = gaugeSeries(entitiesActive, this.labels);
    this.lagGauge = gaugeSeries(checkpointLagEvents, this.labels);
    const topics = shardTopics(options.model, options.topics);
    if (topics.length === 0 || new Set(topics).size !== topics.length) {
      throw new Error(`a shard reads one or more distinct topics; got ${JSON.stringify(topics)}`);
    }
    this.inputs = topics.map((topic) => ({ topic, nextOffset: 0, checkpointedOffset: 0 }));
    this.eventsInByTopic = new Map(
      topics.map((topic) => [topic, counterSeries(eventsIn, { topic })]),
    );
    // Phases spread by the golden ratio: apart for any number of partitions.
    const phase = (options.partition * GOLDEN_RATIO_FRACTION) % 1;
    this.lastCheckpointAtMs = Date.now() - phase * options.checkpointIntervalMs;
  }

  /** The primary input topic. */
  get topic(): string {
    return (this.inputs[0] as InputPosition).topic;
  }

  /** Opens the checkpoint and loads states; afterwards `status().inputs` says where to read from. */
  async restore(): Promise<void> {
    const { model, log, partition, storePath } = this.options;
    // A crashed run's checkpoint may still be landing in the writer: read the file after it.
    await this.writer.sync();
    const store = new CheckpointStore(storePath);
    this.store = store;
    const changelog = this.options.changelog;
    if (changelog) {
      await syncStoreWithChangelog({
        store,
        changelog,
        topics: this.inputs.map((input) => input.topic),
        partition,
        logger: this.options.logger,
      });
    }
    const stored = new Map(store.positions().map((p) => [`${p.topic}\u0000${p.partition}`, p]));
    for (const input of this.inputs) {
      const own = stored.get(`${input.topic}\u0000${partition}`);
      stored.delete(`${input.topic}\u0000${partition}`);
      // Never checkpointed: the empty state includes nothing, so read from the oldest record kept.
      input.nextOffset = own?.nextOffset ?? (await log.startOffset(input.topic, partition));
      input.checkpointedOffset = input.nextOffset;
    }
    this.sourceMarks.clear();
    for (const [id, position] of stored) this.sourceMarks.set(id, position);
    this.table.clear();
    const loaded = store.scan(this.options.maxEntities, (key, bytes) =>
      this.table.load(key, model.decodeState(bytes)),
    );
    this.storeMayHoldMore = loaded < store.count();
    this.restoreProcessor(store);
    this.entitiesGauge.set(this.table.size);
    this.options.logger.info("shard restored", {
      partition,
      positions: Object.fromEntries(this.inputs.map((i) => [i.topic, i.nextOffset])),
      entities: loaded,
    });
  }

  /**
   * Gives the processor its journal. A journal it cannot read (a damaged file, a format of a newer
   * build) is logged as an error and the processor starts empty: what it kept is lost (fraud:
   * predictions waiting for labels), but the entity states are intact, and a shard that could not
   * restart would stop its partition for good.
   */
  private restoreProcessor(store: CheckpointStore): void {
    const processor = this.options.processor;
    if (!processor?.restore) return;
    try {
      processor.restore(store.journal());
    } catch (error) {
      this.options.logger.error(
        "the processor's journal could not be restored; starting it empty",
        {
          partition: this.options.partition,
          path: this.options.storePath,
          error,
        },
      );
      // Gone from the file too, so that the new journal's entries are not read after the old.
      store.clearJournal();
      processor.restore([]);
    }
  }

  /**
   * Applies a batch of one topic's records in offset order (the primary topic's by default),
   * then checkpoints and passivates when due.
   */
  async apply(records: StoredRecord[], topic: string = this.topic): Promise<void> {
    // A checkpoint that failed in the background: crash now, before applying more.
    if (this.writeFailure) throw this.writeFailure;
    const input = this.inputs.find((i) => i.topic === topic);
    if (!input) {
      throw new Error(`shard ${this.options.partition} does not read topic "${topic}"`);
    }
    const first = records[0];
    if (!first) return;
    if (first.offset > input.nextOffset) await this.fillGap(input, first.offset);
    await this.applyContiguous(input, records);
    await this.maybeCheckpoint();
  }

  /**
   * The entity's state, from memory or the store, or null when the shard never saw it. A copy
   * when the model updates in place: the caller reads it after later batches may have run.
   */
  get(key: string): S | null {
    const { model } = this.options;
    const inMemory = this.table.get(key);
    if (inMemory !== undefined) {
      return model.updateInPlace ? model.decodeState(model.encodeState(inMemory)) : inMemory;
    }
    if (!this.store) return null;
    const stored = this.store.lookup([key]).get(key);
    return stored === undefined ? null : this.options.model.decodeState(stored);
  }

  status(): ShardStatus {
    return {
      usecase: this.options.model.name,
      topic: this.topic,
      partition: this.options.partition,
      nextOffset: (this.inputs[0] as InputPosition).nextOffset,
      checkpointedOffset: (this.inputs[0] as InputPosition).checkpointedOffset,
      inputs: this.inputs.map((input) => ({ ...input })),
      entities: this.table.size,
      dirty: this.table.dirtyCount,
      duplicatesSkipped: this.duplicatesSkipped,
    };
  }

  /**
   * Checkpoints when the interval passed or enough events were applied since the last one. The
   * write goes on in the background while the shard takes the next batches; one at a time.
   */
  async maybeCheckpoint(): Promise<void> {
    if (this.writeFailure) throw this.writeFailure;
    const lag = this.uncheckpointed();
    this.lagGauge.set(lag);
    if (this.writing) {
      // Too far ahead of the store: wait for the write rather than pile up dirty states.
      if (lag < this.options.checkpointMaxEvents * UNWRITTEN_LAG_FACTOR) return;
      await this.settleWrite();
    }
    const due =
      lag >= this.options.checkpointMaxEvents ||
      (lag > 0 && Date.now() - this.lastCheckpointAtMs >= this.options.checkpointIntervalMs);
    if (due) this.startCheckpoint();
    // Evicting needs the store to hold what it evicts: not while that is still being written.
    if (!this.writing) this.passivate();
  }

  /** Records applied but not yet in a checkpoint, over every topic read. */
  private uncheckpointed(): number {
    let lag = 0;
    for (const input of this.inputs) lag += input.nextOffset - input.checkpointedOffset;
    return lag;
  }

  /** The input partitions' positions the in-memory state includes. */
  private inputPositions(): SourcePosition[] {
    const partition = this.options.partition;
    return this.inputs.map(({ topic, nextOffset }) => ({ topic, partition, nextOffset }));
  }

  /** Positions the in-memory state includes: the input partitions' and the re-keyed sources'. */
  private positions(): SourcePosition[] {
    // Copies: the marks move on with the next batches while a checkpoint is being written.
    return [
      ...this.inputPositions(),
      ...[...this.sourceMarks.values()].map((mark) => ({ ...mark })),
    ];
  }

  /** Checkpoints now and waits until it is written (a checkpoint request, revocation, stop). */
  async checkpoint(): Promise<void> {
    await this.settleWrite();
    this.startCheckpoint();
    await this.settleWrite();
  }

  /** Waits for the write in flight; throws what made it fail. */
  private async settleWrite(): Promise<void> {
    if (this.writing) await this.writing;
    if (this.writeFailure) throw this.writeFailure;
  }

  /**
   * Snapshots the dirty states with the positions they include and writes them in the background
   * while the shard goes on: to the changelog first (Kafka mode; its transaction also commits the
   * input group), then to the local store, so the store is never ahead of the changelog. Once the
   * store has them the checkpoint counts (lag, group commit).
   */
  private startCheckpoint(): void {
    const store = this.store;
    if (!store || (this.uncheckpointed() === 0 && this.table.dirtyCount === 0)) return;
    const started = performance.now();
    const entries = this.table.takeDirty();
    const snapshot: Snapshot<S> = {
      entries,
      keys: [],
      states: new PackedBytesBuilder(entries.length),
    };
    const positions = this.positions();
    // Cut now, with the positions: the processor's entry holds what the same records changed.
    const journal = this.options.processor?.checkpoint?.() ?? null;
    // Taken with the cut: the outputs of the batches it includes, which may still be in flight.
    const outputs = this.options.processor?.outputsDurable?.() ?? null;
    const changelog = this.options.changelog;
    this.snapshot = snapshot;
    this.lastCheckpointAtMs = Date.now();
    const included = this.inputPositions();
    this.writing = (async () => {
      // Read ahead of their fsync, the records a checkpoint includes are written down only once
      // they are durable: a checkpoint must never hold an event the log could still lose.
      await Promise.all(
        included.map((p) => this.options.log.whenVisible(p.topic, p.partition, p.nextOffset)),
      );
      // Nor the inputs of an output that a crash could still lose: the replay would skip them.
      if (outputs) await outputs;
      await this.encodeInSlices(snapshot);
      // Packed once, for both workers (changelog and checkpoint writer): packing is most of what
      // posting thousands of small strings costs the event loop. The states were packed as
      // they were encoded.
      const packedKeys = packStrings(snapshot.keys);
      const packedStates = snapshot.states.finish();
      if (changelog) {
        // Bounded: a publish that hangs (a broker that came back while a transaction was in
        // flight) fails the shard, whose restart claims the partition again with a new producer.
        const { partition } = this.options;
        await withTimeout(
          changelog.publishPacked
            ? changelog.publishPacked(partition, packedKeys, packedStates, positions, journal)
            : changelog.publish(
                partition,
                unpackPairs(packedKeys, packedStates),
                positions,
                journal,
              ),
          this.options.publishTimeoutMs ?? PUBLISH_TIMEOUT_MS_DEFAULT,
          `${this.options.model.name}/${this.options.partition}: changelog publish`,
        );
      }
      // A crashed run's checkpoint is not written locally once its shard was abandoned: the next
      // run's restore may already have read the file (its claim fenced this publish, or saw it).
      if (this.abandoned) return;
      // Handed over, not copied: the changelog (if any) took its copy when it was posted.
      await this.writer.writePacked(
        this.options.storePath,
        packedKeys,
        packedStates,
        positions,
        true,
        journal,
      );
      if (this.abandoned) return;
      for (const [i, position] of included.entries()) {
        (this.inputs[i] as InputPosition).checkpointedOffset = position.nextOffset;
      }
      checkpointSeconds.observe(
        { usecase: this.options.model.name },
        (performance.now() - started) / 1000,
      );
      this.lagGauge.set(this.uncheckpointed());
      if (!changelog) await this.options.onCheckpoint?.(included);
    })()
      .catch((error: unknown) => {
        // The next message the shard takes (a batch, or the manager's periodic tick) throws it,
        // and the supervisor restarts the shard from what the store holds.
        this.writeFailure ??= error instanceof Error ? error : new Error(String(error));
      })
      .finally(() => {
        this.writing = null;
      });
  }

  /**
   * Encodes a checkpoint's states a slice at a time, yielding to the event loop between slices:
   * at 10k events/s a shard's checkpoint holds a few thousand states, ~5 ms of encoding that
   * would otherwise stall every partition's events at once (the latency tail). The snapshot stays
   * consistent with its positions: an entry the next batches update is encoded first
   * (`encodeEntry` from `applyContiguous`), with the state the positions include.
   */
  private async encodeInSlices(snapshot: Snapshot<S>): Promise<void> {
    try {
      const { entries } = snapshot;
      for (let i = 0; i < entries.length; i++) {
        this.encodeEntry(snapshot, entries[i] as Entry<S>);
        if ((i + 1) % SNAPSHOT_SLICE === 0 && i + 1 < entries.length) {
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
    } finally {
      // Whatever happens, no entry stays waiting to be encoded.
      for (const entry of snapshot.entries) entry.inSnapshot = false;
      if (this.snapshot === snapshot) this.snapshot = null;
    }
  }

  /** Adds an entry's state to the snapshot being encoded, once. */
  private encodeEntry(snapshot: Snapshot<S>, entry: Entry<S>): void {
    if (!entry.inSnapshot) return;
    entry.inSnapshot = false;
    snapshot.keys.push(entry.key);
    snapshot.states.add(this.options.model.encodeState(entry.state));
  }

  /** Checkpoints and releases the store (revocation or stop). */
  async close(): Promise<void> {
    await this.checkpoint();
    await this.options.processor?.close?.();
    await this.options.changelog?.release(this.options.partition);
    await this.writer.close(this.options.storePath);
    this.store?.close();
    this.store = null;
    this.table.clear();
    this.entitiesGauge.set(0);
  }

  /**
   * Releases the store without checkpointing (after a crash: memory is not trusted). A write the
   * writer already has still lands (it is a consistent checkpoint; the next run's restore waits
   * for it); one still waiting for its changelog publish is dropped.
   */
  abandon(): void {
    this.abandoned = true;
    this.store?.close();
    this.store = null;
    this.table.clear();
    this.writer.close(this.options.storePath).catch(() => {});
  }

  private passivate(): void {
    const now = Date.now();
    if (!this.table.needsSweep(this.options.idleMs, now)) return;
    const evicted = this.table.sweep(this.options.idleMs, now);
    if (evicted.idle > 0) {
      entitiesPassivated.inc({ ...this.labels, reason: "idle" }, evicted.idle);
    }
    if (evicted.overLimit > 0) {
      entitiesPassivated.inc({ ...this.labels, reason: "limit" }, evicted.overLimit);
    }
    if (evicted.idle + evicted.overLimit > 0) this.storeMayHoldMore = true;
    // Dirty entities cannot be evicted; over the limit with mostly dirty ones, checkpoint early.
    if (this.table.size > this.options.maxEntities && this.table.dirtyCount > 0) {
      this.lastCheckpointAtMs = 0;
    }
    this.entitiesGauge.set(this.table.size);
  }

  /** Reads and applies the records of `input` in [nextOffset, untilOffset) that did not reach us. */
  private async fillGap(input: InputPosition, untilOffset: number): Promise<void> {
    // A batch read ahead of its fsync may start past records not yet visible to `read`, which
    // would take the gap for an empty one: wait until the gap is readable.
    await this.options.log.whenVisible(input.topic, this.options.partition, untilOffset);
    while (input.nextOffset < untilOffset) {
      const want = Math.min(this.options.batchMax, untilOffset - input.nextOffset);
      const read = await this.options.log.read(
        input.topic,
        this.options.partition,
        input.nextOffset,
        want,
      );
      const missing = read.filter((r) => r.offset < untilOffset);
      if (missing.length === 0) {
        // Nothing stored in the gap (a compacted or transactional topic skips offsets).
        input.nextOffset = untilOffset;
        return;
      }
      await this.applyContiguous(input, missing);
    }
  }

  private async applyContiguous(input: InputPosition, records: StoredRecord[]): Promise<void> {
    const { model, processor } = this.options;
    const decoded: Decoded<E>[] = [];
    const deadLetters: { record: StoredRecord; error: ValidationError }[] = [];
    const maxEventBytes = this.options.maxEventBytes ?? EVENT_BYTES_MAX_DEFAULT;
    const topic = input.topic;
    // The batch may have been read ahead of its fsync: what it yields (dead letters, the
    // processor's outputs) waits for it to be durable, while the work before overlaps the fsync.
    const lastRecord = records[records.length - 1] as StoredRecord;
    const inputVisible = this.options.log.whenVisible(
      topic,
      this.options.partition,
      lastRecord.offset + 1,
    );
    // Awaited where something waits for it; a failed fsync also fails the next append.
    inputVisible.catch(() => {});
    for (const record of records) {
      if (record.offset < input.nextOffset) continue; // applied before a restart or a rebalance
      if (record.headers[SOURCE_OFFSET_HEADER] !== undefined && this.isReplayedSource(record)) {
        continue;
      }
      if (record.value.byteLength > maxEventBytes) {
        const size = `${record.value.byteLength} bytes`;
        deadLetters.push({
          record,
          error: new ValidationError("", `event is ${size}; expected at most ${maxEventBytes}`),
        });
        continue;
      }
      try {
        const event = model.decode(record, topic);
        const key = model.key(event);
        if (record.key === null) this.checkOwned(key);
        decoded.push({ record, key, event });
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        deadLetters.push({ record, error });
      }
    }
    if (deadLetters.length > 0) {
      await inputVisible;
      await this.sendToDeadLetters(topic, deadLetters);
    }
    if (this.storeMayHoldMore) this.loadMissing(decoded);
    this.table.nextTick();
    const table = this.table;
    // The processor sees each state before its update, so the update may change it in place.
    const update = model.updateInPlace ?? model.update;
    for (const { record, key, event } of decoded) {
      const entry = table.entry(key);
      // In a checkpoint still being encoded: its state as of the checkpoint goes in first.
      if (entry?.inSnapshot && this.snapshot) this.encodeEntry(this.snapshot, entry);
      const before = entry ? entry.state : model.initial(key);
      processor?.onEvent(key, before, event, record, topic);
      const after = update(before, event);
      if (entry) table.update(entry, after);
      else table.insert(key, after);
    }
    if (processor && decoded.length > 0) await processor.flush(inputVisible);
    const last = records[records.length - 1];
    if (last && last.offset + 1 > input.nextOffset) input.nextOffset = last.offset + 1;
    this.eventsInByTopic.get(topic)?.inc(decoded.length + deadLetters.length);
    this.entitiesGauge.set(this.table.size);
  }

  /** Throws a ValidationError when an unkeyed record's entity belongs to another partition. */
  private checkOwned(key: string): void {
    const { partitionCount, partition } = this.options;
    if (partitionCount === undefined) return;
    const owner = partitionForString(key, partitionCount);
    if (owner === partition) return;
    throw new ValidationError(
      "key",
      `the record has no key, and its entity ${JSON.stringify(key)} belongs to partition ${owner}, not ${partition}; produce it keyed by its entity, or list its topic in COELHO_UNKEYED_TOPICS to have it re-keyed`,
    );
  }

  /**
   * True for a record the re-keying step wrote again after a crash (its source offset is below
   * the mark); otherwise advances the mark past it.
   */
  private isReplayedSource(record: StoredRecord): boolean {
    const topic = record.headers[SOURCE_TOPIC_HEADER] ?? "";
    const partition = Number(record.headers[SOURCE_PARTITION_HEADER]);
    const offset = Number(record.headers[SOURCE_OFFSET_HEADER]);
    if (!Number.isSafeInteger(partition) || !Number.isSafeInteger(offset)) return false;
    const id = `${topic}\u0000${partition}`;
    const mark = this.sourceMarks.get(id);
    if (mark && offset < mark.nextOffset) {
      this.duplicatesSkipped++;
      return true;
    }
    if (mark) mark.nextOffset = offset + 1;
    else this.sourceMarks.set(id, { topic, partition, nextOffset: offset + 1 });
    return false;
  }

  /** Brings passivated entities of this batch back from the store, in one lookup. */
  private loadMissing(decoded: Decoded<E>[]): void {
    const missing = new Set<string>();
    for (const { key } of decoded) if (!this.table.has(key)) missing.add(key);
    if (missing.size === 0 || !this.store) return;
    for (const [key, bytes] of this.store.lookup([...missing])) {
      this.table.load(key, this.options.model.decodeState(bytes));
    }
  }

  /**
   * Dead letters go to the `.dlq` of the topic the user wrote them to: the topic read, or for a
   * re-keyed record its source topic (from its headers), at its source partition and offset.
   */
  private async sendToDeadLetters(
    readTopic: string,
    items: { record: StoredRecord; error: ValidationError }[],
  ): Promise<void> {
    const byTopic = new Map<string, { topic: string; partition: number; records: LogRecord[] }>();
    for (const { record, error } of items) {
      const sourceTopic = record.headers[SOURCE_TOPIC_HEADER];
      const sourcePartition = Number(record.headers[SOURCE_PARTITION_HEADER]);
      const sourceOffset = Number(record.headers[SOURCE_OFFSET_HEADER]);
      const fromSource =
        sourceTopic !== undefined &&
        Number.isSafeInteger(sourcePartition) &&
        Number.isSafeInteger(sourceOffset);
      const topic = fromSource ? sourceTopic : readTopic;
      const partition = fromSource ? sourcePartition : this.options.partition;
      const letter = deadLetterRecord(
        fromSource ? { ...record, offset: sourceOffset } : record,
        error,
        { topic, partition },
      );
      const id = `${topic}\u0000${partition}`;
      const group = byTopic.get(id);
      if (group) group.records.push(letter);
      else byTopic.set(id, { topic, partition, records: [letter] });
      deadLetterEvents.inc({ topic, reason: error.code });
    }
    for (const { topic, partition, records } of byTopic.values()) {
      await this.options.log.append(deadLetterTopic(topic), partition, records);
    }
    this.options.logger.warn("events sent to the dead-letter topic", {
      topics: [...byTopic.values()].map(({ topic }) => deadLetterTopic(topic)),
      count: items.length,
      firstReason: items[0]?.error.message,
    });
  }
}
