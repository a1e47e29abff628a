/**
 * A bounded FIFO with `peek`: the runtime's Mailbox has none, and the batcher must look at the
 * oldest request (its deadline, its size, its pinned model) before deciding to take it.
 *
 * @example
 * const q = new Fifo<string>(2);
 * q.push("a"); q.push("b"); q.push("c"); // false: full
 * q.peek(); // "a"
 */
export class Fifo<T> {
  readonly capacity: number;
  private readonly slots: (T | undefined)[];
  private head = 0;
  private size = 0;

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`fifo capacity: ${capacity} is not valid; expected an integer ≥ 1`);
    }
    this.capacity = capacity;
    this.slots = new Array<T | undefined>(capacity).fill(undefined);
  }

  get depth(): number {
    return this.size;
  }

  /** Appends `item`; false (and nothing kept) when full. */
  push(item: T): boolean {
    if (this.size === this.capacity) return false;
    let tail = this.head + this.size;
    if (tail >= this.capacity) tail -= this.capacity;
    this.slots[tail] = item;
    this.size++;
    return true;
  }

  /** The oldest item, left in place; undefined when empty. */
  peek(): T | undefined {
    return this.size === 0 ? undefined : this.slots[this.head];
  }

  /** Removes and returns the oldest item; undefined when empty. */
  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.slots[this.head];
    this.slots[this.head] = undefined;
    this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    this.size--;
    return item;
  }

  /** Removes and returns every item, oldest first. */
  drainAll(): T[] {
    const items: T[] = [];
    while (this.size > 0) items.push(this.shift() as T);
    return items;
  }
}
