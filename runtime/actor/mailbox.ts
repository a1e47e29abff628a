/**
 * A bounded FIFO queue: a ring buffer over an array allocated once at `capacity` slots.
 *
 * Memory never grows past the capacity, whatever the producers do: a full mailbox refuses the
 * item and the caller decides (reject, wait, dead-letter). Shifted slots are cleared so a consumed
 * message can be collected at once.
 *
 * @example
 * const box = new Mailbox<number>(2);
 * box.push(1); box.push(2);
 * box.push(3); // false: full
 * box.shift(); // 1
 */
export class Mailbox<T> {
  /** Maximum number of queued items. */
  readonly capacity: number;
  private readonly slots: (T | undefined)[];
  private head = 0;
  private size = 0;

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`mailbox capacity: ${capacity} is not valid; expected an integer ≥ 1`);
    }
    this.capacity = capacity;
    // Allocated once; a ring never reallocates, so a burst cannot grow memory.
    this.slots = new Array<T | undefined>(capacity).fill(undefined);
  }

  /** Items waiting. */
  get depth(): number {
    return this.size;
  }

  get isFull(): boolean {
    return this.size === this.capacity;
  }

  /** Appends `item`; returns false (and keeps nothing) when full. */
  push(item: T): boolean {
    if (this.size === this.capacity) return false;
    let tail = this.head + this.size;
    if (tail >= this.capacity) tail -= this.capacity;
    this.slots[tail] = item;
    this.size++;
    return true;
  }

  /** The oldest item, left in place; undefined when empty (a batcher looks before it takes). */
  peek(): T | undefined {
    return this.size === 0 ? undefined : this.slots[this.head];
  }

  /**
   * Removes and returns the oldest item. Check `depth` first: an empty mailbox returns
   * `undefined`, which is also a valid item for `Mailbox<void>`.
   */
  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.slots[this.head];
    this.slots[this.head] = undefined;
    this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    this.size--;
    return item;
  }

  /** Removes and returns every queued item, oldest first (used when a stop gives up). */
  drainAll(): T[] {
    const items: T[] = [];
    while (this.size > 0) items.push(this.shift() as T);
    return items;
  }
}
