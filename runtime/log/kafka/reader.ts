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
import type { WireFetcher } from "./wire.ts";

/** The retained range of a partition: `[start, end)`. */
export interface PartitionBounds {
  start: number;
  end: number;
}

/** Bytes asked for per fetch; the broker returns at least one whole record batch regardless. */
const FETCH_BYTES_MAX = 1024 * 1024;
/** Fetches that may come back empty before the end, e.g. while a transaction is still open. */
const EMPTY_FETCHES_MAX = 3;
/** Times the start may move under a read (retention deleting segments) before it gives up. */
const OUT_OF_RANGE_MAX = 3;

/**
 * Reads a range of records.
 * @param bounds the partition's current `[start, end)`; called again when the start moves.
 * @throws ValidationError for a negative offset or a `maxRecords` below 1.
 */
export async function readRange(
  fetcher: WireFetcher,
  bounds: () => Promise<PartitionBounds>,
  topic: string,
  partition: number,
  fromOffset: number,
  maxRecords: number,
): Promise<StoredRecord[]> {
  if (!Number.isSafeInteger(fromOffset) || fromOffset < 0) {
    throw new ValidationError("fromOffset", `${fromOffset} is not valid; expected an integer >= 0`);
  }
  if (!Number.isSafeInteger(maxRecords) || maxRecords < 1) {
    throw new ValidationError("maxRecords", `${maxRecords} is not valid; expected an integer >= 1`);
  }
  let { start, end } = await bounds();
  let next = Math.max(fromOffset, start);
  const out: StoredRecord[] = [];
  let emptyFetches = 0;
  let outOfRange = 0;
  while (out.length < maxRecords && next < end) {
    const result = await fetcher.fetch(topic, partition, next, FETCH_BYTES_MAX);
    if (result.kind === "out_of_range") {
      outOfRange += 1;
      if (outOfRange > OUT_OF_RANGE_MAX) {
        throw new RetriableError(
          `read ${topic}/${partition}: offset ${next} stayed out of range while the start moved`,
        );
      }
      ({ start, end } = await bounds());
      next = Math.max(next, start);
      continue;
    }
    const before = next;
    for (const message of result.records) {
      const offset = toOffset(message.offset, "offset");
      if (offset < next) continue;
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
