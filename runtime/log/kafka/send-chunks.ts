/**
 * Produce requests of bounded size. kafkajs sends all of one call's messages for a partition as one
 * record batch, and the broker refuses a batch above its `message.max.bytes` (1 MiB by default)
 * with "The request included a message larger than the max message size the server will accept":
 * an append of a few thousand records of a few hundred bytes each (a simulated history, a replay)
 * would be refused whole. So appends are sent in chunks of at most {@link SEND_BYTES_MAX} bytes,
 * one after the other, which keeps each partition's records in order.
 */
import type { LogRecord } from "../log.ts";

/** Bytes of records per request: half the broker's default limit on a record batch. */
export const SEND_BYTES_MAX = 512 * 1024;
/** A record's framing in a batch, about (varints, attributes, header counts). */
const RECORD_OVERHEAD_BYTES = 32;

/** About what `record` takes in a record batch. */
function recordBytes(record: LogRecord): number {
  let bytes = RECORD_OVERHEAD_BYTES + record.value.byteLength + (record.key?.byteLength ?? 0);
  if (record.headers) {
    for (const [name, value] of Object.entries(record.headers)) bytes += name.length + value.length;
  }
  return bytes;
}

/**
 * `records` in order, cut into runs of at most `bytesMax` bytes (a record larger than that goes
 * alone: the broker says whether it takes it). One run when they fit, without copying.
 */
export function sendChunks(records: LogRecord[], bytesMax = SEND_BYTES_MAX): LogRecord[][] {
  const chunks: LogRecord[][] = [];
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < records.length; i++) {
    const size = recordBytes(records[i] as LogRecord);
    if (i > start && bytes + size > bytesMax) {
      chunks.push(records.slice(start, i));
      start = i;
      bytes = 0;
    }
    bytes += size;
  }
  if (start === 0) return records.length > 0 ? [records] : [];
  chunks.push(records.slice(start));
  return chunks;
}
