/**
 * The process-wide dead-letter sink: messages that could not be delivered or processed.
 *
 * It keeps the most recent entries in a bounded ring (never more than its capacity, so a flood of
 * refusals cannot grow memory), counts every entry in `coelho_dead_letters_total{kind,reason}`,
 * and lets others subscribe (the API's live view, a dead-letter topic writer).
 */
import { log } from "../logger.ts";
import { deadLetters as deadLettersTotal } from "../metrics.ts";

/** One message that went nowhere. */
export interface DeadLetter {
  /** Actor name (instance), e.g. `shard-3`. */
  actor: string;
  /** Actor kind (bounded), e.g. `shard`. */
  kind: string;
  /** Why: `mailbox_full`, `failure`, `stopped`, or a validation error's code. */
  reason: string;
  message: unknown;
  /** Wall-clock time in ms since the epoch. */
  atMs: number;
  /** The error that made the message fail, when there was one. */
  error?: unknown;
}

export type DeadLetterListener = (entry: DeadLetter) => void;

/**
 * A bounded ring of the latest dead letters plus synchronous subscribers.
 *
 * @example
 * const off = deadLetterSink.subscribe((d) => console.error(d.actor, d.reason));
 * deadLetterSink.recent(10);
 * off();
 */
export class DeadLetterSink {
  readonly capacity: number;
  private readonly ring: (DeadLetter | undefined)[];
  private next = 0;
  private size = 0;
  private readonly listeners = new Set<DeadLetterListener>();
  /** Resolved metric children, by kind then reason: `labels()` hashes its argument each call. */
  private readonly counters = new Map<string, Map<string, { inc(): void }>>();

  constructor(capacity = 1000) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(
        `dead-letter capacity: ${capacity} is not valid; expected an integer ≥ 1`,
      );
    }
    this.capacity = capacity;
    this.ring = new Array<DeadLetter | undefined>(capacity).fill(undefined);
  }

  /** Records one dead letter, counts it, and hands it to every subscriber. */
  publish(entry: DeadLetter): void {
    this.ring[this.next] = entry;
    this.next = this.next + 1 === this.capacity ? 0 : this.next + 1;
    if (this.size < this.capacity) this.size++;
    this.counter(entry.kind, entry.reason).inc();
    for (const listener of this.listeners) {
      try {
        listener(entry);
      } catch (error) {
        // A broken subscriber must not break the sender that is refusing a message.
        log.error("dead-letter listener threw", { error });
      }
    }
  }

  /** The latest `limit` entries (all kept ones by default), oldest first. */
  recent(limit = this.capacity): DeadLetter[] {
    const count = Math.min(limit, this.size);
    const out: DeadLetter[] = [];
    let index = this.next - count;
    if (index < 0) index += this.capacity;
    for (let i = 0; i < count; i++) {
      const entry = this.ring[index];
      if (entry !== undefined) out.push(entry);
      index = index + 1 === this.capacity ? 0 : index + 1;
    }
    return out;
  }

  /** Calls `listener` for every future dead letter; returns the unsubscribe function. */
  subscribe(listener: DeadLetterListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Forgets the kept entries (the metric keeps counting). Meant for tests. */
  clear(): void {
    this.ring.fill(undefined);
    this.next = 0;
    this.size = 0;
  }

  private counter(kind: string, reason: string): { inc(): void } {
    let byReason = this.counters.get(kind);
    if (byReason === undefined) {
      byReason = new Map();
      this.counters.set(kind, byReason);
    }
    let child = byReason.get(reason);
    if (child === undefined) {
      child = deadLettersTotal.labels(kind, reason);
      byReason.set(reason, child);
    }
    return child;
  }
}

/** The process-wide sink every actor publishes to. */
export const deadLetterSink = new DeadLetterSink(1000);
