/**
 * A sparse in-memory index of one segment: an entry (offset → byte position) at least every
 * `intervalBytes` of data, as Kafka's `.index` files do. A read starts from the nearest entry at or
 * before its offset and walks at most one interval of frames, so reads stay fast while the index
 * costs 16 bytes per interval (about 4 KiB by default) instead of per record.
 *
 * Offsets are strictly increasing but need not be contiguous, so a compacted segment indexes the
 * same way.
 */

/** Default distance in bytes between index entries. */
export const INDEX_INTERVAL_BYTES = 4096;

export class SegmentIndex {
  private offsets: Float64Array;
  private positions: Float64Array;
  private count = 0;
  /** Position after which the next entry is due. */
  private nextEntryPosition = 0;
  private readonly intervalBytes: number;

  constructor(intervalBytes = INDEX_INTERVAL_BYTES) {
    this.intervalBytes = intervalBytes;
    this.offsets = new Float64Array(64);
    this.positions = new Float64Array(64);
  }

  /** Number of entries. */
  get size(): number {
    return this.count;
  }

  /** Notes a frame; kept only if it is at least one interval past the previous entry. */
  add(offset: number, position: number): void {
    if (position < this.nextEntryPosition) return;
    if (this.count === this.offsets.length) this.grow();
    this.offsets[this.count] = offset;
    this.positions[this.count] = position;
    this.count++;
    this.nextEntryPosition = position + this.intervalBytes;
  }

  /** Byte position from which a scan finds `offset`: the last entry at or before it (else 0). */
  floorPosition(offset: number): number {
    const i = this.lastAtOrBefore(offset);
    return i < 0 ? 0 : (this.positions[i] as number);
  }

  /**
   * Byte position of the first entry whose offset is ≥ `offset`, or `fallback` if none: every frame
   * with a smaller offset ends at or before it, so a read of offsets below `offset` need not read
   * past it.
   */
  ceilPosition(offset: number, fallback: number): number {
    const i = this.lastAtOrBefore(offset - 1) + 1;
    return i < this.count ? (this.positions[i] as number) : fallback;
  }

  /** Drops entries at or after `position` (the segment was truncated there). */
  truncateTo(position: number): void {
    while (this.count > 0 && (this.positions[this.count - 1] as number) >= position) this.count--;
    const last = this.count - 1;
    this.nextEntryPosition = last < 0 ? 0 : (this.positions[last] as number) + this.intervalBytes;
  }

  /** Index of the last entry with offset ≤ `offset`, or -1. */
  private lastAtOrBefore(offset: number): number {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.offsets[mid] as number) <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  private grow(): void {
    const offsets = new Float64Array(this.offsets.length * 2);
    offsets.set(this.offsets);
    this.offsets = offsets;
    const positions = new Float64Array(this.positions.length * 2);
    positions.set(this.positions);
    this.positions = positions;
  }
}
