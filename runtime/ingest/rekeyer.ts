/**
 * The re-keying step of ingestion: input that has no key, or is not keyed by the entity (the
 * original COELHORealTime producers send no key), is read, validated, keyed by its entity and
 * written to an internal repartition topic, which the shards read (as Kafka Streams does).
 *
 * At-least-once with a deterministic id: each record carries its source topic, partition and
 * offset in headers; the source offset is committed after the write, at most every
 * `commitIntervalMs` and when the partition is revoked. A crash before a commit writes some
 * records again, and the shards skip them by their source offset, so entity state stays
 * exactly-once through this step. Committing per batch would put a durable write (a broker round
 * trip, or a file fsync in the embedded log) between every batch and the next: it made this hop
 * ~4.6 ms at the median at 10k events/s.
 */
import { ValidationError } from "../errors.ts";
import { deadLetterRecord } from "../log/dead-letter.ts";
import {
  deadLetterTopic,
  type Log,
  type LogRecord,
  type PartitionListener,
  type StoredRecord,
  type TopicPartition,
} from "../log/log.ts";
import type { Logger } from "../logger.ts";
import { deadLetterEvents, eventsIn } from "../metrics.ts";
import type { EntityModel } from "../shard/entity-model.ts";
import {
  SOURCE_OFFSET_HEADER,
  SOURCE_PARTITION_HEADER,
  SOURCE_TOPIC_HEADER,
} from "../shard/shard.ts";

export interface RekeyerOptions<E> {
  // biome-ignore lint/suspicious/noExplicitAny: only decode and key are used.
  model: EntityModel<any, E>;
  log: Log;
  /** Consumer group of the re-keying step (its positions in the source topics). */
  group: string;
  /** The repartition topic the shards read. */
  targetTopic: string;
  maxEventBytes: number;
  /** Commit source positions at most this often (default 200 ms); and always on revoke. */
  commitIntervalMs?: number;
  logger: Logger;
}

/** A partition's position written but not yet committed. */
interface Uncommitted {
  tp: TopicPartition;
  nextOffset: number;
  committedAtMs: number;
  /** A commit scheduled for when the stream goes quiet, so the last position is not left out. */
  trailing: ReturnType<typeof setTimeout> | null;
}

const encoder = new TextEncoder();

/** Name of a use case's internal repartition topic. */
export function repartitionTopic(appId: string, usecase: string): string {
  return `${appId}-${usecase}-repartition`;
}

export class Rekeyer<E> implements PartitionListener {
  private readonly positions = new Map<string, Uncommitted>();

  constructor(private readonly options: RekeyerOptions<E>) {}

  async onAssigned(tp: TopicPartition): Promise<number> {
    const committed = await this.options.log.committed(this.options.group, tp);
    return committed ?? (await this.options.log.startOffset(tp.topic, tp.partition));
  }

  async onBatch(tp: TopicPartition, records: StoredRecord[]): Promise<void> {
    const last = records[records.length - 1];
    if (!last) return;
    const { model, log, targetTopic, maxEventBytes } = this.options;
    const keyed: LogRecord[] = [];
    const rejected: LogRecord[] = [];
    for (const record of records) {
      const source = {
        [SOURCE_TOPIC_HEADER]: tp.topic,
        [SOURCE_PARTITION_HEADER]: String(tp.partition),
        [SOURCE_OFFSET_HEADER]: String(record.offset),
      };
      try {
        if (record.value.byteLength > maxEventBytes) {
          throw new ValidationError(
            "",
            `event is ${record.value.byteLength} bytes; expected at most ${maxEventBytes}`,
          );
        }
        const key = encoder.encode(model.key(model.decode(record, tp.topic)));
        keyed.push({
          key,
          value: record.value,
          timestampMs: record.timestampMs,
          headers: { ...record.headers, ...source },
        });
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        deadLetterEvents.inc({ topic: tp.topic, reason: error.code });
        rejected.push(deadLetterRecord(record, error, tp));
      }
    }
    if (rejected.length > 0) await log.append(deadLetterTopic(tp.topic), tp.partition, rejected);
    if (keyed.length > 0) await log.produce(targetTopic, keyed);
    eventsIn.inc({ topic: tp.topic }, records.length);
    const id = `${tp.topic}/${tp.partition}`;
    const now = Date.now();
    const intervalMs = this.options.commitIntervalMs ?? 200;
    const position = this.positions.get(id) ?? {
      tp,
      nextOffset: 0,
      committedAtMs: 0,
      trailing: null,
    };
    position.nextOffset = last.offset + 1;
    this.positions.set(id, position);
    if (now - position.committedAtMs >= intervalMs) {
      position.committedAtMs = now;
      await log.commit(this.options.group, tp, position.nextOffset);
    } else {
      position.trailing ??= setTimeout(() => {
        position.trailing = null;
        if (this.positions.get(id) !== position) return; // revoked meanwhile
        position.committedAtMs = Date.now();
        log.commit(this.options.group, tp, position.nextOffset).catch((error: unknown) => {
          // The next batch or the revoke commits again; a crash only re-keys records the shards skip.
          this.options.logger.warn("re-keying: a trailing commit failed", { ...tp, error });
        });
      }, intervalMs);
    }
  }

  async onRevoked(tp: TopicPartition): Promise<void> {
    const id = `${tp.topic}/${tp.partition}`;
    const position = this.positions.get(id);
    this.positions.delete(id);
    if (!position) return;
    if (position.trailing) clearTimeout(position.trailing);
    await this.options.log.commit(this.options.group, tp, position.nextOffset);
  }
}
