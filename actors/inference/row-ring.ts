/**
 * A ring of feature rows in one Float32Array allocated once: the inference actor's queue.
 *
 * Rows are copied in when a request is admitted and read out, oldest first, as a batch. A batch
 * that does not wrap around the end is a view of the ring (no copy); one that wraps is packed into
 * a scratch buffer of `batchMax` rows, also allocated once. Rows stay in the ring until `free`,
 * which the actor calls when their batch has been scored, so a batch in flight is never
 * overwritten. Memory is `(capacity + batchMax) · featureCount · 4` bytes, whatever the load.
 *
 * @example
 * const ring = new RowRing(1024, 33, 256);
 * ring.write(rowsF32, 10);          // 10 rows of 33 features
 * const view = ring.read(ring.head, 10); // Float32Array of 330 values
 * ring.free(10);
 */
export class RowRing {
  /** Rows the ring holds at most. */
  readonly capacity: number;
  readonly featureCount: number;
  private readonly data: Float32Array;
  private readonly scratch: Float32Array;
  /** Oldest row still held (being scored or queued). */
  private headRow = 0;
  private heldRows = 0;

  constructor(capacity: number, featureCount: number, batchMax: number) {
    this.capacity = capacity;
    this.featureCount = featureCount;
    this.data = new Float32Array(capacity * featureCount);
    this.scratch = new Float32Array(Math.min(batchMax, capacity) * featureCount);
  }

  /** Rows held: queued plus being scored. */
  get held(): number {
    return this.heldRows;
  }

  /** Rows that can still be written. */
  get available(): number {
    return this.capacity - this.heldRows;
  }

  /** Index of the oldest held row. */
  get head(): number {
    return this.headRow;
  }

  /**
   * Copies `n` rows (row-major, `n · featureCount` values; float64 is rounded to float32) to the
   * tail and returns the index of the first. The caller has checked there is room.
   */
  write(rows: Float32Array | Float64Array, n: number): number {
    if (n > this.capacity - this.heldRows) {
      throw new RangeError(`row ring: ${n} rows do not fit in ${this.available} free rows`);
    }
    const f = this.featureCount;
    let start = this.headRow + this.heldRows;
    if (start >= this.capacity) start -= this.capacity;
    const first = Math.min(n, this.capacity - start);
    if (rows.length === n * f && first === n) {
      this.data.set(rows, start * f);
    } else {
      this.data.set(rows.subarray(0, first * f), start * f);
      if (first < n) this.data.set(rows.subarray(first * f, n * f), 0);
    }
    this.heldRows += n;
    return start;
  }

  /**
   * The `n` rows from row index `start` as one contiguous array: a view of the ring, or the
   * scratch buffer when they wrap. Valid until the next `read` (the scratch is reused).
   */
  read(start: number, n: number): Float32Array {
    const f = this.featureCount;
    const first = Math.min(n, this.capacity - start);
    if (first === n) return this.data.subarray(start * f, (start + n) * f);
    if (n * f > this.scratch.length) {
      throw new RangeError(
        `row ring: a batch of ${n} rows exceeds the scratch of ${this.scratch.length / f}`,
      );
    }
    this.scratch.set(this.data.subarray(start * f, this.capacity * f), 0);
    this.scratch.set(this.data.subarray(0, (n - first) * f), first * f);
    return this.scratch.subarray(0, n * f);
  }

  /** Releases the `n` oldest rows (their batch is done, or they were dropped). */
  free(n: number): void {
    if (n > this.heldRows) throw new RangeError(`row ring: freeing ${n} of ${this.heldRows} rows`);
    this.headRow += n;
    if (this.headRow >= this.capacity) this.headRow -= this.capacity;
    this.heldRows -= n;
  }

  /** Forgets every row (the actor gave its queue up after a crash or a stop). */
  clear(): void {
    this.headRow = 0;
    this.heldRows = 0;
  }
}
