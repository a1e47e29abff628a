/**
 * A bounded min-heap of future happenings (scheduled fraud transactions, due labels) ordered by
 * event time, then by insertion order, so equal times come out in a deterministic order.
 */

interface Entry<T> {
  timeMs: number;
  seq: number;
  item: T;
}

export class EventQueue<T> {
  private readonly heap: Entry<T>[] = [];
  private seq = 0;

  /** @param capacity the most entries held; `push` refuses beyond it. */
  constructor(readonly capacity: number) {}

  get size(): number {
    return this.heap.length;
  }

  /** Adds an item due at `timeMs`; returns false (and drops it) when the queue is full. */
  push(timeMs: number, item: T): boolean {
    if (this.heap.length >= this.capacity) return false;
    const heap = this.heap;
    heap.push({ timeMs, seq: this.seq++, item });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
    return true;
  }

  /** Every item held, in no particular order, without removing any. */
  *items(): Generator<T> {
    for (const entry of this.heap) yield entry.item;
  }

  /** Time of the earliest item, or +Infinity when empty. */
  peekTimeMs(): number {
    return this.heap[0]?.timeMs ?? Number.POSITIVE_INFINITY;
  }

  /** Removes and returns the earliest item. */
  pop(): { timeMs: number; item: T } | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (!top) return undefined;
    const last = heap.pop() as Entry<T>;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && this.less(left, smallest)) smallest = left;
        if (right < heap.length && this.less(right, smallest)) smallest = right;
        if (smallest === i) break;
        this.swap(i, smallest);
        i = smallest;
      }
    }
    return { timeMs: top.timeMs, item: top.item };
  }

  private less(a: number, b: number): boolean {
    const x = this.heap[a] as Entry<T>;
    const y = this.heap[b] as Entry<T>;
    return x.timeMs < y.timeMs || (x.timeMs === y.timeMs && x.seq < y.seq);
  }

  private swap(a: number, b: number): void {
    const heap = this.heap;
    const x = heap[a] as Entry<T>;
    heap[a] = heap[b] as Entry<T>;
    heap[b] = x;
  }
}
