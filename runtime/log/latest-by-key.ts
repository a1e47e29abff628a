/**
 * Reading a small compacted topic as a table: the latest value of each key. For the little state a
 * producer keeps in the log itself (a simulated world's start, the labels it still owes), where
 * compaction keeps one record per key and a reader wants the newest of each.
 */
import type { Log } from "./log.ts";

/** Records per read call. */
const READ_BATCH = 10_000;

const decoder = new TextDecoder();

/**
 * The latest value of each key in one partition of `topic` (records without a key are skipped;
 * values are copies), or null when the topic does not exist. A record `accept` refuses (a value
 * the reader cannot use) is skipped too, so the one before it stands.
 */
export async function readLatestByKey(
  log: Log,
  topic: string,
  options: { partition?: number; accept?: (key: string, value: Uint8Array) => boolean } = {},
): Promise<Map<string, Uint8Array> | null> {
  const { partition = 0, accept } = options;
  try {
    await log.partitionCount(topic);
  } catch {
    return null; // never written
  }
  const latest = new Map<string, Uint8Array>();
  const end = await log.endOffset(topic, partition);
  for (let offset = await log.startOffset(topic, partition); offset < end; ) {
    const records = await log.read(topic, partition, offset, READ_BATCH);
    if (records.length === 0) break;
    for (const r of records) {
      if (!r.key) continue;
      const key = decoder.decode(r.key);
      if (!accept || accept(key, r.value)) latest.set(key, r.value.slice());
    }
    offset = (records[records.length - 1]?.offset ?? offset) + 1;
  }
  return latest;
}
