/**
 * Key → partition, exactly as Kafka's Java default partitioner does it:
 * `Utils.toPositive(Utils.murmur2(keyBytes)) % numPartitions`.
 *
 * Both log implementations use this, so a key lands on the same partition number in embedded mode
 * and in Kafka mode (and on the same partition a Java or kafkajs producer would pick), which keeps
 * an entity's shard stable when the platform moves from a laptop to a cluster.
 */
import { ValidationError } from "../errors.ts";
import type { LogRecord } from "./log.ts";

/** Kafka's murmur2 seed (`0x9747b28c`). */
const SEED = 0x9747b28c;
/** Mixing constant of murmur2. */
const M = 0x5bd1e995;

const utf8 = new TextEncoder();

/**
 * Kafka's 32-bit murmur2 of `bytes`, as a signed int32 (the value Java's `Utils.murmur2` returns).
 *
 * @example
 * murmur2(new TextEncoder().encode("foobar")) // -790332482
 */
export function murmur2(bytes: Uint8Array): number {
  const length = bytes.length;
  // Math.imul keeps every product in 32 bits, which is what Java's int arithmetic does.
  let h = (SEED ^ length) | 0;
  const length4 = length & ~3;
  for (let i = 0; i < length4; i += 4) {
    let k =
      (bytes[i] as number) |
      ((bytes[i + 1] as number) << 8) |
      ((bytes[i + 2] as number) << 16) |
      ((bytes[i + 3] as number) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  // The 1..3 trailing bytes, in the order of Java's fall-through switch.
  const tail = length & 3;
  if (tail === 3) h ^= (bytes[length4 + 2] as number) << 16;
  if (tail >= 2) h ^= (bytes[length4 + 1] as number) << 8;
  if (tail >= 1) {
    h ^= bytes[length4] as number;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's `Utils.toPositive`: clears the sign bit (not `Math.abs`, so MIN_VALUE maps to 0). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/**
 * Partition of a record key among `partitions`, as Kafka's default partitioner picks it.
 *
 * @example
 * partitionFor(new TextEncoder().encode("foobar"), 50) // 16
 */
export function partitionFor(key: Uint8Array, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new ValidationError(
      "partitions",
      `${partitions} is not a partition count; expected an integer ≥ 1`,
    );
  }
  return toPositive(murmur2(key)) % partitions;
}

/**
 * Partition of a string key (hashed as its UTF-8 bytes, as Kafka's StringSerializer sends it).
 *
 * @example
 * partitionForString("card-42", 12)
 */
export function partitionForString(key: string, partitions: number): number {
  return partitionFor(utf8.encode(key), partitions);
}

/**
 * `records` split by the partition `produce` sends each to: its key's, or `nextUnkeyed()` for a
 * record without a key (round-robin, kept by the caller per topic). Each list keeps the records'
 * order.
 */
export function recordsByPartition(
  records: readonly LogRecord[],
  partitions: number,
  nextUnkeyed: () => number,
): LogRecord[][] {
  const byPartition: LogRecord[][] = Array.from({ length: partitions }, () => []);
  for (const record of records) {
    const partition =
      record.key instanceof Uint8Array ? partitionFor(record.key, partitions) : nextUnkeyed();
    (byPartition[partition] as LogRecord[]).push(record);
  }
  return byPartition;
}
