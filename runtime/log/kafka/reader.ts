/**
 * `Log.read` on Kafka: random access to one partition, for restores, gap fills and tests.
 *
 * Reads what the partition holds now, from `fromOffset` (clamped to the partition's start) up to
 * `maxRecords` records or the end offset seen when the read began; it never waits for new records.
 * Offsets may skip (compaction, transaction markers), so records are taken by `offset >= next`,
 * never by counting.
 */
import { RetriableError, ValidationError } from "../../errors.ts";
import type { StoredRecord } from "../log.ts";
import { toOffset, toStoredRecord } from "./codec.ts";
import type { Isolation, WireFetcher } from "./wire.ts";

export type { Isolation } from "./wire.ts";

/** The retained range of a partition: `[start, end)`. */
export interface PartitionBounds {
  start: number;
  end: number;
}

/** How `KafkaLog.read` reads, beyond the `Log` contract. */
export interface ReadOptions {
  /**
   * `read_committed` (the default): up to the last stable offset, aborted transactions and
   * transaction markers left out. `read_uncommitted`: up to the high watermark, open and aborted
   * transactions included (markers are still left out).
   */
  isolation?: Isolation;
  /**
   * Returns no record at or after this offset. A reader that fixed its end in advance (a restore
   * up to a last stable offset it saw) uses it so that no later record, nor part of a later
   * transaction, slips into its result.
   */
  untilOffset?: number;
}

/** Bytes asked for per fetch; the broker returns at least one whole record batch regardless. */
const FETCH_BYTES_MAX = 1024 * 1024;
/** Fetches that may come back empty before the end, e.g. while a transaction is still open. */
const EMPTY_FETCHES_MAX = 3;
/** Times the start may move under a read (retention deleting segments) before it gives up. */
const OUT_OF_RANGE_MAX = 3;

/**
 * Reads a range of records.
 * @param bounds the partition's current `[start, end)` for the isolation level read with (its end
 * is the last stable offset for `read_committed`, the high watermark otherwise); called again when
 * the start moves.
 * @throws ValidationError for a negative offset, a `maxRecords` below 1 or a bad `untilOffset`.
 */
export async function readRange(
  fetcher: WireFetcher,
  bounds: () => Promise<PartitionBounds>,
  topic: string,
  partition: number,
  fromOffset: number,
  maxRecords: number,
  options: ReadOptions = {},
): Promise<StoredRecord[]> {
  if (!Number.isSafeInteger(fromOffset) || fromOffset < 0) {
    throw new ValidationError("fromOffset", `${fromOffset} is not valid; expected an integer >= 0`);
  }
  if (!Number.isSafeInteger(maxRecords) || maxRecords < 1) {
    throw new ValidationError("maxRecords", `${maxRecords} is not valid; expected an integer >= 1`);
  }
  const until = options.untilOffset ?? Number.POSITIVE_INFINITY;
  if (options.untilOffset !== undefined && (!Number.isSafeInteger(until) || until < 0)) {
    throw new ValidationError(
      "untilOffset",
      `${options.untilOffset} is not valid; expected an integer >= 0`,
    );
  }
  const isolation = options.isolation ?? "read_committed";
  let { start, end } = await bounds();
  end = Math.min(end, until);
  let next = Math.max(fromOffset, start);
  const out: StoredRecord[] = [];
  let emptyFetches = 0;
  let outOfRange = 0;
  while (out.length < maxRecords && next < end) {
    const result = await fetcher.fetch(topic, partition, next, FETCH_BYTES_MAX, isolation);
    if (result.kind === "out_of_range") {
      outOfRange += 1;
      if (outOfRange > OUT_OF_RANGE_MAX) {
        throw new RetriableError(
          `read ${topic}/${partition}: offset ${next} stayed out of range while the start moved`,
        );
      }
      ({ start, end } = await bounds());
      end = Math.min(end, until);
      next = Math.max(next, start);
      continue;
    }
    const before = next;
    for (const message of result.records) {
      const offset = toOffset(message.offset, "offset");
      if (offset < next) continue;
      if (offset >= until) return out;
      out.push(toStoredRecord(message));
      next = offset + 1;
      if (out.length === maxRecords) return out;
    }
    // Skip what the batch filtered out (control records, aborted transactions).
    if (result.nextOffset !== null) next = Math.max(next, result.nextOffset);
    if (next === before) {
      emptyFetches += 1;
      if (emptyFetches >= EMPTY_FETCHES_MAX) break;
    }
  }
  return out;
}
