/**
 * The bytes most recently written to a partition's active segment, kept in a fixed ring in
 * memory. The platform's consumers read each batch right after it is appended (ahead of its
 * fsync), so nearly every read asks for bytes written a moment ago: copied from here, it costs no
 * read syscall. In the e2e benchmark's latency run, `readSync` was 5 % of the event loop's
 * samples (a profile of `bun run bench -- e2e-fraud`), all of it for bytes this process had just
 * written. A read of anything older (a consumer far behind, a restart) goes to the file as before.
 *
 * The ring is allocated once per partition that is appended to and moves to each new segment,
 * so it costs its capacity per written partition, and nothing per append.
 */
export class TailCache {
  private readonly ring: Uint8Array;
  /** File position of the first byte held (of the segment it is attached to). */
  private start = 0;
  /** File position one past the last byte held. */
  private end = 0;

  constructor(capacityBytes: number) {
    if (!Number.isInteger(capacityBytes) || capacityBytes <= 0) {
      throw new RangeError(`tail cache of ${capacityBytes} bytes; expected a positive integer`);
    }
    this.ring = new Uint8Array(capacityBytes);
  }

  /** Holds nothing; the next bytes written are expected at file position `position`. */
  reset(position: number): void {
    this.start = position;
    this.end = position;
  }

  /** Keeps `bytes`, just written at file position `position`. */
  wrote(bytes: Uint8Array, position: number): void {
    const capacity = this.ring.length;
    // Not right after what is held (never expected: segments are append-only): start over there.
    if (position !== this.end) this.reset(position);
    let source = bytes;
    let at = position;
    if (source.length > capacity) {
      at += source.length - capacity;
      source = source.subarray(source.length - capacity);
    }
    const from = at % capacity;
    const first = Math.min(source.length, capacity - from);
    this.ring.set(source.subarray(0, first), from);
    if (first < source.length) this.ring.set(source.subarray(first), 0);
    this.end = position + bytes.length;
    this.start = Math.max(this.start, this.end - capacity);
  }

  /**
   * Copies the `length` bytes at file position `position` into `out` (from its start) and returns
   * true, or returns false and copies nothing when they are not all held.
   */
  read(out: Uint8Array, position: number, length: number): boolean {
    if (position < this.start || position + length > this.end) return false;
    const capacity = this.ring.length;
    const from = position % capacity;
    const first = Math.min(length, capacity - from);
    out.set(this.ring.subarray(from, from + first), 0);
    if (first < length) out.set(this.ring.subarray(0, length - first), first);
    return true;
  }
}
