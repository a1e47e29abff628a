/**
 * Labels that reached a shard before their transaction was scored, one buffer per shard.
 *
 * On the embedded log a shard reads `fraud.transactions` and `fraud.labels` as two topics, each in
 * its own order: after a restart with a backlog, a label can come before its transaction. It
 * waits here until the transaction is scored (then the pair is joined, still "predict first, then
 * learn"), or until the transactions read reach the label's own event time: a transaction comes
 * before its label in event time, so by then it is not coming (scored before a restart, never
 * scored, or its prediction evicted) and the label counts as unmatched. Bounded by count too: the
 * oldest held label is given up first.
 */

/** Most labels a shard holds for transactions not yet scored (default). */
export const EARLY_LABELS_MAX_DEFAULT = 10_000;

/**
 * @example
 * const early = new EarlyLabels<{ label: Label }>(1000);
 * const givenUp = early.hold(label.transaction_id, label.labelTimeMs, { label });
 * const waiting = early.take(tx.transaction_id); // once the transaction is scored
 */
export class EarlyLabels<T> {
  /** By transaction id, in arrival order (the first entry is the oldest held). */
  private readonly byId = new Map<string, { labelTimeMs: number; item: T }>();

  constructor(private readonly maxCount: number = EARLY_LABELS_MAX_DEFAULT) {
    if (!(maxCount >= 1)) throw new RangeError(`maxCount ${maxCount}; expected >= 1`);
  }

  get size(): number {
    return this.byId.size;
  }

  /** Holds a label; returns those given up to stay within the count bound (oldest first). */
  hold(transactionId: string, labelTimeMs: number, item: T): T[] {
    const givenUp: T[] = [];
    const replaced = this.byId.get(transactionId);
    if (replaced) {
      // A second label for the same transaction: the first one is given up, the last one waits.
      this.byId.delete(transactionId);
      givenUp.push(replaced.item);
    }
    this.byId.set(transactionId, { labelTimeMs, item });
    for (const [id, held] of this.byId) {
      if (this.byId.size <= this.maxCount) break;
      this.byId.delete(id);
      givenUp.push(held.item);
    }
    return givenUp;
  }

  /** The label waiting for this transaction, removed; undefined when none waits. */
  take(transactionId: string): T | undefined {
    if (this.byId.size === 0) return undefined;
    const held = this.byId.get(transactionId);
    if (!held) return undefined;
    this.byId.delete(transactionId);
    return held.item;
  }

  /**
   * The transactions read reached event time `timeMs`: gives up (removes and returns) the labels
   * whose own time is not after it, since their transactions came earlier and were not scored here.
   */
  expire(timeMs: number): T[] {
    const givenUp: T[] = [];
    if (this.byId.size === 0) return givenUp;
    for (const [id, held] of this.byId) {
      if (held.labelTimeMs > timeMs) continue;
      this.byId.delete(id);
      givenUp.push(held.item);
    }
    return givenUp;
  }

  /** The labels held, oldest first: what a checkpoint writes down, to `hold` again in order. */
  *entries(): IterableIterator<{ transactionId: string; labelTimeMs: number; item: T }> {
    for (const [transactionId, { labelTimeMs, item }] of this.byId) {
      yield { transactionId, labelTimeMs, item };
    }
  }

  clear(): void {
    this.byId.clear();
  }
}
