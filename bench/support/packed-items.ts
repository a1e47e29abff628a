/**
 * A benchmark's simulated records, packed: every key, value and unit id in one byte array, the
 * rest in typed-array columns. As objects (an item, its record, a Uint8Array for each key and
 * value) a 60-s plan at 10k transactions/s is over a GB of heap, all of it old objects that each of
 * the platform's full collections marks, in the benchmark's process only: in a deployment the
 * producers are other processes. Packed, the collector sees a few arrays; records are rebuilt as
 * they are produced, short-lived, as a producer's are.
 *
 * A unit is what a benchmark sends together: a transaction and the labels the simulator emitted
 * before it, named by the transaction's id.
 */
import type { LogRecord } from "../../runtime/log/log.ts";
import type { Item } from "./fraud-platform.ts";

const NO_KEY = 0xffff_ffff;
/** Offsets are u32: past 4 GiB of records a plan must be split. */
const BYTES_MAX = 0xffff_ffff;

function grown<T extends Uint8Array | Uint32Array | Float64Array>(array: T, needed: number): T {
  if (needed <= array.length) return array;
  let length = Math.max(1024, array.length);
  while (length < needed) length *= 2;
  const larger = new (array.constructor as new (length: number) => T)(length);
  larger.set(array);
  return larger;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class PackedItems {
  private bytes = new Uint8Array(1 << 20);
  private bytesUsed = 0;
  private readonly topics: string[] = [];
  private topicOf = new Uint8Array(1024);
  private keyStart = new Uint32Array(1024);
  private keyEnd = new Uint32Array(1024);
  private valueStart = new Uint32Array(1024);
  private valueEnd = new Uint32Array(1024);
  /** NaN when the record has no event time. */
  private timestampMs = new Float64Array(1024);
  private itemsUsed = 0;
  /** Per unit: the index of the item after its last one, and its id's bytes. */
  private unitEnd = new Uint32Array(1024);
  private idStart = new Uint32Array(1024);
  private idEnd = new Uint32Array(1024);
  private unitsUsed = 0;

  get itemCount(): number {
    return this.itemsUsed;
  }

  get unitCount(): number {
    return this.unitsUsed;
  }

  /** Appends an item. Headers are not packed: a record with headers is refused, not stripped. */
  push({ topic, record }: Item): void {
    if (record.headers !== undefined && Object.keys(record.headers).length > 0) {
      throw new Error(`packed items: a record for ${topic} has headers, which are not packed`);
    }
    let topicIndex = this.topics.indexOf(topic);
    if (topicIndex < 0) {
      if (this.topics.length === 255) throw new Error("packed items: more than 255 topics");
      topicIndex = this.topics.push(topic) - 1;
    }
    const i = this.itemsUsed;
    this.ensureItems(i + 1);
    this.topicOf[i] = topicIndex;
    if (record.key === null) {
      this.keyStart[i] = NO_KEY;
    } else {
      this.keyStart[i] = this.bytesUsed;
      this.keyEnd[i] = this.copy(record.key);
    }
    this.valueStart[i] = this.bytesUsed;
    this.valueEnd[i] = this.copy(record.value);
    this.timestampMs[i] = record.timestampMs ?? Number.NaN;
    this.itemsUsed = i + 1;
  }

  /** Ends a unit at the last item pushed, named `id`. */
  endUnit(id: string): void {
    const u = this.unitsUsed;
    if (u >= this.unitEnd.length) {
      this.unitEnd = grown(this.unitEnd, u + 1);
      this.idStart = grown(this.idStart, u + 1);
      this.idEnd = grown(this.idEnd, u + 1);
    }
    this.unitEnd[u] = this.itemsUsed;
    this.idStart[u] = this.bytesUsed;
    this.idEnd[u] = this.copy(encoder.encode(id));
    this.unitsUsed = u + 1;
  }

  /** Items `from` (inclusive) to `to` (exclusive), as records viewing the packed bytes. */
  items(from: number, to: number): Item[] {
    const end = Math.min(to, this.itemsUsed);
    const items: Item[] = [];
    for (let i = from; i < end; i++) items.push(this.item(i));
    return items;
  }

  /** The items of units `from` (inclusive) to `to` (exclusive). */
  unitItems(from: number, to: number): Item[] {
    const last = Math.min(to, this.unitsUsed);
    if (last <= from) return [];
    return this.items(this.itemsBefore(from), this.itemsBefore(last));
  }

  /** Items in the units before `unit` (0 to unitCount): where an open loop pacing items is then. */
  itemsBefore(unit: number): number {
    if (unit < 0 || unit > this.unitsUsed) throw new RangeError(`no unit ${unit}`);
    return unit === 0 ? 0 : (this.unitEnd[unit - 1] as number);
  }

  unitId(unit: number): string {
    return decoder.decode(this.bytes.subarray(this.idStart[unit], this.idEnd[unit]));
  }

  private item(i: number): Item {
    const keyStart = this.keyStart[i] as number;
    const timestampMs = this.timestampMs[i] as number;
    const record: LogRecord = {
      key: keyStart === NO_KEY ? null : this.bytes.subarray(keyStart, this.keyEnd[i]),
      value: this.bytes.subarray(this.valueStart[i], this.valueEnd[i]),
    };
    if (!Number.isNaN(timestampMs)) record.timestampMs = timestampMs;
    return { topic: this.topics[this.topicOf[i] as number] as string, record };
  }

  /** Copies `source` after the bytes in use; returns where it ends. */
  private copy(source: Uint8Array): number {
    const end = this.bytesUsed + source.length;
    if (end > BYTES_MAX) throw new Error("packed items: over 4 GiB of records; split the plan");
    this.bytes = grown(this.bytes, end);
    this.bytes.set(source, this.bytesUsed);
    this.bytesUsed = end;
    return end;
  }

  private ensureItems(needed: number): void {
    if (needed <= this.topicOf.length) return;
    this.topicOf = grown(this.topicOf, needed);
    this.keyStart = grown(this.keyStart, needed);
    this.keyEnd = grown(this.keyEnd, needed);
    this.valueStart = grown(this.valueStart, needed);
    this.valueEnd = grown(this.valueEnd, needed);
    this.timestampMs = grown(this.timestampMs, needed);
  }
}
