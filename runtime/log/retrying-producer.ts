/**
 * A producer that keeps what the log refused (a full disk, a broker away) and appends it again,
 * instead of dropping it. For sources that make their own events, such as the built-in
 * simulators: a dropped batch would be a hole in their world (a label whose transaction was never
 * written), and a silent one hides a full disk.
 *
 * The unit of retry is one partition's share of a batch: records are split by partition the way
 * `Log.produce` splits them (murmur2 of the key; round-robin for records without one), and only
 * the shares that failed are appended again, so a batch that went in on some partitions is not
 * written twice there. Bounded: a caller asks {@link pending} and takes no new events while
 * anything waits, so at most one batch is held, and each partition keeps its order.
 */
import type { Logger } from "../logger.ts";
import type { Log, LogRecord } from "./log.ts";
import { recordsByPartition } from "./partitioner.ts";

export interface RetryingProducerHooks {
  /** The first refusal after a success: what went wrong, and the records now held. */
  onRefused?(error: unknown, held: number): void;
  /** Everything held went in, after `attempts` refused appends over `heldMs`. */
  onRecovered?(attempts: number, heldMs: number): void;
}

/** Hooks that log: a warning at the first refusal, a line when the held records went in. */
export function loggingHooks(logger: Logger): RetryingProducerHooks {
  return {
    onRefused: (error, held) =>
      logger.warn("the log refuses appends; holding them and trying again, producing nothing new", {
        error,
        records: held,
      }),
    onRecovered: (attempts, heldMs) =>
      logger.info("the log takes appends again; the held records are in, none dropped", {
        attempts,
        heldMs,
      }),
  };
}

interface Share {
  topic: string;
  partition: number;
  records: LogRecord[];
}

export class RetryingProducer {
  private held: Share[] = [];
  private heldSinceMs = 0;
  private attempts = 0;
  private readonly partitionCounts = new Map<string, number>();
  private readonly roundRobin = new Map<string, number>();

  constructor(
    private readonly log: Log,
    private readonly hooks: RetryingProducerHooks = {},
  ) {}

  /** Whether records the log refused are waiting for {@link retry}. */
  get pending(): boolean {
    return this.held.length > 0;
  }

  /** Records waiting for {@link retry}. */
  get heldRecords(): number {
    return this.held.reduce((n, share) => n + share.records.length, 0);
  }

  /**
   * Appends each topic's records; resolves true once all are in, false when some were refused
   * (they are held for {@link retry}). Rejects only when a topic's partitions cannot be counted
   * (then nothing was appended, and nothing is held).
   */
  async produce(batches: readonly [topic: string, records: LogRecord[]][]): Promise<boolean> {
    if (this.pending) throw new Error("records are held: retry() them before producing more");
    const shares: Share[] = [];
    for (const [topic, records] of batches) {
      if (records.length > 0) shares.push(...(await this.split(topic, records)));
    }
    return this.append(shares);
  }

  /** Appends what was refused again; true once nothing is held. */
  async retry(): Promise<boolean> {
    return this.append(this.held);
  }

  private async append(shares: Share[]): Promise<boolean> {
    const results = await Promise.allSettled(
      shares.map((share) => this.log.append(share.topic, share.partition, share.records)),
    );
    const refused: Share[] = [];
    let firstError: unknown;
    results.forEach((result, i) => {
      if (result.status === "fulfilled") return;
      refused.push(shares[i] as Share);
      firstError ??= result.reason;
    });
    if (refused.length > 0) {
      if (this.attempts === 0) this.heldSinceMs = Date.now();
      this.attempts++;
      this.held = refused;
      if (this.attempts === 1) this.hooks.onRefused?.(firstError, this.heldRecords);
      return false;
    }
    this.held = [];
    if (this.attempts > 0) {
      this.hooks.onRecovered?.(this.attempts, Date.now() - this.heldSinceMs);
      this.attempts = 0;
    }
    return true;
  }

  private async split(topic: string, records: LogRecord[]): Promise<Share[]> {
    const partitions = this.partitionCounts.get(topic) ?? (await this.countPartitions(topic));
    let next = this.roundRobin.get(topic) ?? 0;
    const byPartition = recordsByPartition(records, partitions, () => next++ % partitions);
    this.roundRobin.set(topic, next % partitions);
    const shares: Share[] = [];
    byPartition.forEach((list, partition) => {
      if (list.length > 0) shares.push({ topic, partition, records: list });
    });
    return shares;
  }

  private async countPartitions(topic: string): Promise<number> {
    const partitions = await this.log.partitionCount(topic);
    this.partitionCounts.set(topic, partitions);
    return partitions;
  }
}
