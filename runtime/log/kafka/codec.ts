/**
 * Conversions between the log contract's records and kafkajs messages.
 *
 * kafkajs speaks Buffers and decimal strings (offsets and timestamps are int64 on the wire); the
 * contract speaks Uint8Array and numbers. Offsets stay exact as numbers up to 2^53, far beyond
 * what a partition reaches.
 */
import type { IHeaders, KafkaMessage, Message } from "kafkajs";
import type { Headers, LogRecord, StoredRecord } from "../log.ts";

const EMPTY = new Uint8Array(0);

/** A Buffer view over the same bytes (no copy): kafkajs only reads it. */
function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The kafkajs message for a record. `partition` is set only for explicit appends; otherwise the
 * producer's partitioner (Java-compatible murmur2 for keys) chooses.
 */
export function toMessage(record: LogRecord, partition?: number): Message {
  const message: Message = {
    key: record.key === null ? null : toBuffer(record.key),
    value: toBuffer(record.value),
  };
  if (partition !== undefined) message.partition = partition;
  if (record.headers !== undefined) message.headers = { ...record.headers };
  if (record.timestampMs !== undefined) message.timestamp = String(record.timestampMs);
  return message;
}

/**
 * Parses an int64 decimal string from kafkajs into a number.
 * @throws Error when the value is not a safe integer (a broken response, never user input).
 */
export function toOffset(value: string, what: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed)) {
    throw new Error(`kafka: ${what} "${value}" is not a safe integer`);
  }
  return parsed;
}

/** Header values become strings (UTF-8); a repeated key keeps its last value, as Java's lastHeader. */
function toHeaders(headers: IHeaders | undefined): Headers {
  const out: Headers = {};
  if (!headers) return out;
  // for-in, not Object.entries: most records have no headers, and this runs for every record.
  for (const name in headers) {
    const raw = headers[name];
    const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (value === undefined) continue;
    out[name] = typeof value === "string" ? value : value.toString("utf8");
  }
  return out;
}

/**
 * The stored record for a fetched kafkajs message. A null value (a compaction tombstone, which the
 * contract cannot express) reads as an empty value. Key and value are kafkajs's Buffers as they
 * are (a Buffer is a Uint8Array): wrapping each in a new view cost two allocations a record, a
 * tenth of the consuming thread's time in `bun run bench -- kafka`.
 */
export function toStoredRecord(message: KafkaMessage): StoredRecord {
  return {
    offset: toOffset(message.offset, "offset"),
    key: message.key ?? null,
    value: message.value ?? EMPTY,
    headers: toHeaders(message.headers),
    timestampMs: toOffset(message.timestamp, "timestamp"),
  };
}
