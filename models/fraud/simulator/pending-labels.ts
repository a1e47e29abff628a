/**
 * The labels a simulator still owes when it stops, kept in the log for the next run of the same
 * world. Why: a restart resumes the world after the log's last transaction (`resume.ts`), and the
 * shards keep every prediction waiting for its label across it, but the labels themselves were
 * only scheduled in the stopped simulator's memory: the transactions of the last days before a
 * restart (about a week of simulated time, the confirmations' delay) never got one.
 *
 * Kept in a compacted topic of one partition (`<labels topic>.pending`), so it stays the size of
 * the last save: the labels in chunks (keys `chunk/0`, `chunk/1`, ...) and then a trailer (key
 * `trailer`) naming the save, its chunk count and the event time of the last transaction in the
 * log when it was saved (where the next run resumes). A save counts only when its trailer is there and every chunk it names
 * carries its name (a save cut short by a crash is ignored), and only for a run that resumes
 * after that very transaction (another producer that wrote transactions since makes it stale).
 */
import { readLatestByKey } from "../../../runtime/log/latest-by-key.ts";
import type { Log, LogRecord } from "../../../runtime/log/log.ts";
import type { Label, LabelEvent } from "../schema.ts";

/** Labels per chunk record: ~250 KB, under a Kafka broker's default record limit of 1 MB. */
const LABELS_PER_CHUNK = 2_000;
/** Chunks per append: ~25 MB, under the embedded log's 64-MB append. */
const CHUNKS_PER_APPEND = 100;
/** The most labels a save keeps (the simulator's queue bound is 2M items). */
export const PENDING_LABELS_MAX = 2_000_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Topic where a simulator writing labels to `labelsTopic` keeps the ones it owes. */
export function pendingLabelsTopic(labelsTopic: string): string {
  return `${labelsTopic}.pending`;
}

interface Trailer {
  save: string;
  chunks: number;
  labels: number;
  /** Event time of the last transaction in the log at the save. */
  lastEventMs: number;
}

interface Chunk {
  save: string;
  labels: LabelEvent[];
}

function record(key: string, value: unknown): LogRecord {
  return { key: encoder.encode(key), value: encoder.encode(JSON.stringify(value)) };
}

/**
 * Writes `labels` (at most {@link PENDING_LABELS_MAX}, the earliest due kept) as the latest save,
 * for a run resuming after a transaction at `lastEventMs`.
 */
export async function savePendingLabels(
  log: Log,
  labelsTopic: string,
  labels: readonly Label[],
  lastEventMs: number,
): Promise<void> {
  const topic = pendingLabelsTopic(labelsTopic);
  await log.ensureTopic({ name: topic, partitions: 1, compacted: true });
  const kept = [...labels]
    .sort((a, b) => a.labelTimeMs - b.labelTimeMs)
    .slice(0, PENDING_LABELS_MAX)
    .map(
      ({ transaction_id, card_id, is_fraud, label_time, kind }): LabelEvent => ({
        transaction_id,
        card_id,
        is_fraud,
        label_time,
        kind,
      }),
    );
  const save = `${lastEventMs}-${Date.now()}`;
  const records: LogRecord[] = [];
  for (let at = 0; at < kept.length; at += LABELS_PER_CHUNK) {
    const chunk: Chunk = { save, labels: kept.slice(at, at + LABELS_PER_CHUNK) };
    records.push(record(`chunk/${records.length}`, chunk));
  }
  // In order, on one partition: the trailer is written after every chunk it names.
  for (let at = 0; at < records.length; at += CHUNKS_PER_APPEND) {
    await log.append(topic, 0, records.slice(at, at + CHUNKS_PER_APPEND));
  }
  const trailer: Trailer = { save, chunks: records.length, labels: kept.length, lastEventMs };
  await log.append(topic, 0, [record("trailer", trailer)]);
}

/**
 * The labels of the latest complete save for a run resuming after a transaction at
 * `lastEventMs`; null when there is none, or it was made after another transaction (stale).
 */
export async function loadPendingLabels(
  log: Log,
  labelsTopic: string,
  lastEventMs: number,
): Promise<Label[] | null> {
  const latest = await readLatestByKey(log, pendingLabelsTopic(labelsTopic));
  const trailerBytes = latest?.get("trailer");
  if (!latest || !trailerBytes) return null; // never saved
  const trailer = JSON.parse(decoder.decode(trailerBytes)) as Trailer;
  if (trailer.lastEventMs !== lastEventMs) return null;
  const labels: Label[] = [];
  for (let i = 0; i < trailer.chunks; i++) {
    const bytes = latest.get(`chunk/${i}`);
    if (!bytes) return null;
    const chunk = JSON.parse(decoder.decode(bytes)) as Chunk;
    if (chunk.save !== trailer.save) return null;
    for (const label of chunk.labels) {
      labels.push({ ...label, labelTimeMs: Date.parse(label.label_time) });
    }
  }
  return labels.length === trailer.labels ? labels : null;
}
