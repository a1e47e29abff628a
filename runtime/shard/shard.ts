/**
 * A shard: the owner of one input partition's entities, their state and their checkpoint.
 *
 * It applies records strictly in offset order from the position its state includes, so state is
 * exactly-once however records reach it: a record below the position was already applied and is
 * skipped; a record above it means records are missing (the shard restarted from its checkpoint
 * while the consumer went on), and the shard reads the gap from the log itself before going on.
 */

import { CheckpointStore } from "../checkpoint/store.ts";
import { ValidationError } from "../errors.ts";
import { deadLetterTopic, type Log, type StoredRecord } from "../log/log.ts";
import type { Logger } from "../logger.ts";
import {
  checkpointLagEvents,
  checkpointSeconds,
  deadLetterEvents,
  entitiesActive,
  entitiesPassivated,
  eventsIn,
} from "../metrics.ts";
import type { EntityModel, EntityObserver } from "./entity-model.ts";
import { EntityTable } from "./entity-table.ts";

export interface ShardOptions<S, E> {
  model: EntityModel<S, E>;
  log: Log;
  partition: number;
  /** The checkpoint database file of this shard. */
  storePath: string;
  maxEntities: number;
  idleMs: number;
  checkpointIntervalMs: number;
  checkpointMaxEvents: number;
  /** Records per read when the shard fills a gap itself. */
  batchMax: number;
  observer?: EntityObserver<S, E>;
  /** Called after each checkpoint with the position it includes (e.g. to commit the group). */
  onCheckpoint?: (nextOffset: number) => Promise<void>;
  logger: Logger;
}

export interface ShardStatus {
  usecase: string;
  topic: string;
  partition: number;
  /** First offset not yet applied to the in-memory state. */
  nextOffset: number;
  /** First offset not included in the last checkpoint. */
  checkpointedOffset: number;
  entities: number;
  dirty: number;
}

/** A decoded record on its way into the state. */
interface Decoded<E> {
  record: StoredRecord;
  key: string;
  event: E;
}

export class Shard<S, E> {
  private readonly table: EntityTable<S>;
  private store: CheckpointStore | null = null;
  private nextOffset = 0;
  private checkpointedOffset = 0;
  private lastCheckpointAtMs = Date.now();
  /** False while every entity the store holds is also in memory: a miss then means a new key. */
  private storeMayHoldMore = false;
  private readonly labels: { usecase: string; shard: string };

  constructor(private readonly options: ShardOptions<S, E>) {
    this.table = new EntityTable<S>(options.maxEntities);
    this.labels = { usecase: options.model.name, shard: String(options.partition) };
  }

  get topic(): string {
    return this.options.model.inputTopic;
  }

  /** Opens the checkpoint and loads states; returns the offset to read from. */
  async restore(): Promise<number> {
    const { model, log, partition, storePath } = this.options;
    this.store = new CheckpointStore(storePath);
    const position = this.store.position(this.topic, partition);
    // Never checkpointed: the empty state includes nothing, so read from the oldest record kept.
    this.nextOffset = position?.nextOffset ?? (await log.startOffset(this.topic, partition));
    this.checkpointedOffset = this.nextOffset;
    this.table.clear();
    const loaded = this.store.scan(this.options.maxEntities, (key, text) =>
      this.table.load(key, model.decodeState(text)),
    );
    this.storeMayHoldMore = loaded < this.store.count();
    entitiesActive.set(this.labels, this.table.size);
    this.options.logger.info("shard restored", {
      partition,
      nextOffset: this.nextOffset,
      entities: loaded,
    });
    return this.nextOffset;
  }

  /** Applies a batch (records in offset order), then checkpoints and passivates when due. */
  async apply(records: StoredRecord[]): Promise<void> {
    const first = records[0];
    if (!first) return;
    if (first.offset > this.nextOffset) await this.fillGap(first.offset);
    await this.applyContiguous(records);
    await this.maybeCheckpoint();
  }

  /** The entity's state, from memory or the store, or null when the shard never saw it. */
  get(key: string): S | null {
    const inMemory = this.table.get(key);
    if (inMemory !== undefined) return inMemory;
    if (!this.store) return null;
    const stored = this.store.lookup([key]).get(key);
    return stored === undefined ? null : this.options.model.decodeState(stored);
  }

  status(): ShardStatus {
    return {
      usecase: this.options.model.name,
      topic: this.topic,
      partition: this.options.partition,
      nextOffset: this.nextOffset,
      checkpointedOffset: this.checkpointedOffset,
      entities: this.table.size,
      dirty: this.table.dirtyCount,
    };
  }

  /** Checkpoints when the interval passed or enough events were applied since the last one. */
  async maybeCheckpoint(): Promise<void> {
    const lag = this.nextOffset - this.checkpointedOffset;
    checkpointLagEvents.set(this.labels, lag);
    const due =
      lag >= this.options.checkpointMaxEvents ||
      (lag > 0 && Date.now() - this.lastCheckpointAtMs >= this.options.checkpointIntervalMs);
    if (due) await this.checkpoint();
    this.passivate();
  }

  /** Writes dirty states with the position they include, in one transaction. */
  async checkpoint(): Promise<void> {
    const store = this.store;
    if (!store || (this.nextOffset === this.checkpointedOffset && this.table.dirtyCount === 0)) {
      return;
    }
    const started = performance.now();
    const encode = this.options.model.encodeState;
    const changed = (function* (dirty: IterableIterator<[string, S]>) {
      for (const [key, state] of dirty) yield [key, encode(state)] as [string, string];
    })(this.table.dirty());
    store.write(this.topic, this.options.partition, this.nextOffset, changed);
    this.table.markClean();
    this.checkpointedOffset = this.nextOffset;
    this.lastCheckpointAtMs = Date.now();
    checkpointSeconds.observe(
      { usecase: this.options.model.name },
      (performance.now() - started) / 1000,
    );
    checkpointLagEvents.set(this.labels, 0);
    await this.options.onCheckpoint?.(this.nextOffset);
  }

  /** Checkpoints and releases the store (revocation or stop). */
  async close(): Promise<void> {
    await this.checkpoint();
    this.store?.close();
    this.store = null;
    this.table.clear();
    entitiesActive.set(this.labels, 0);
  }

  /** Releases the store without checkpointing (after a crash: memory is not trusted). */
  abandon(): void {
    this.store?.close();
    this.store = null;
    this.table.clear();
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
    entitiesActive.set(this.labels, this.table.size);
  }

  /** Reads and applies the records in [nextOffset, untilOffset) that did not reach us. */
  private async fillGap(untilOffset: number): Promise<void> {
    while (this.nextOffset < untilOffset) {
      const want = Math.min(this.options.batchMax, untilOffset - this.nextOffset);
      const read = await this.options.log.read(
        this.topic,
        this.options.partition,
        this.nextOffset,
        want,
      );
      const missing = read.filter((r) => r.offset < untilOffset);
      if (missing.length === 0) {
        // Nothing stored in the gap (a compacted or transactional topic skips offsets).
        this.nextOffset = untilOffset;
        return;
      }
      await this.applyContiguous(missing);
    }
  }

  private async applyContiguous(records: StoredRecord[]): Promise<void> {
    const { model, observer } = this.options;
    const decoded: Decoded<E>[] = [];
    const deadLetters: { record: StoredRecord; error: ValidationError }[] = [];
    for (const record of records) {
      if (record.offset < this.nextOffset) continue; // applied before a restart or a rebalance
      try {
        const event = model.decode(record);
        decoded.push({ record, key: model.key(event), event });
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        deadLetters.push({ record, error });
      }
    }
    if (deadLetters.length > 0) await this.sendToDeadLetters(deadLetters);
    if (this.storeMayHoldMore) this.loadMissing(decoded);
    this.table.nextTick();
    const table = this.table;
    for (const { record, key, event } of decoded) {
      const entry = table.entry(key);
      const before = entry ? entry.state : model.initial(key);
      const after = model.update(before, event);
      if (entry) table.update(entry, after);
      else table.insert(key, after);
      observer?.(key, before, after, event, record);
    }
    const last = records[records.length - 1];
    if (last && last.offset + 1 > this.nextOffset) this.nextOffset = last.offset + 1;
    eventsIn.inc({ topic: this.topic }, decoded.length + deadLetters.length);
    entitiesActive.set(this.labels, this.table.size);
  }

  /** Brings passivated entities of this batch back from the store, in one lookup. */
  private loadMissing(decoded: Decoded<E>[]): void {
    const missing = new Set<string>();
    for (const { key } of decoded) if (!this.table.has(key)) missing.add(key);
    if (missing.size === 0 || !this.store) return;
    for (const [key, text] of this.store.lookup([...missing])) {
      this.table.load(key, this.options.model.decodeState(text));
    }
  }

  private async sendToDeadLetters(
    items: { record: StoredRecord; error: ValidationError }[],
  ): Promise<void> {
    const topic = this.topic;
    await this.options.log.append(
      deadLetterTopic(topic),
      this.options.partition,
      items.map(({ record, error }) => ({
        key: record.key,
        value: record.value,
        timestampMs: record.timestampMs,
        headers: {
          ...record.headers,
          "coelho.dlq.reason": error.message,
          "coelho.dlq.code": error.code,
          "coelho.dlq.path": error.path,
          "coelho.dlq.topic": topic,
          "coelho.dlq.partition": String(this.options.partition),
          "coelho.dlq.offset": String(record.offset),
        },
      })),
    );
    for (const { error } of items) deadLetterEvents.inc({ topic, reason: error.code });
    this.options.logger.warn("events sent to the dead-letter topic", {
      topic: deadLetterTopic(topic),
      count: items.length,
      firstReason: items[0]?.error.message,
    });
  }
}
