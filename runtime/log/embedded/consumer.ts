/**
 * A consumer group member of the embedded log. The embedded log runs in one process, so a group has
 * one member and it is assigned every partition of its topics at once.
 *
 * Each partition has its own fetch loop: ask the listener where to start (`onAssigned`), then read a
 * batch, await `onBatch`, advance, and at the end of the log sleep until the partition reports new
 * visible records. Nothing polls. The consumer never commits: the listener commits after it has
 * checkpointed, which is what makes state exactly-once (DESIGN.md).
 */
import { ValidationError } from "../../errors.ts";
import { gaugeSeries } from "../../metric-series.ts";
import { consumerLagRecords, consumerRebalances } from "../../metrics.ts";
import type { Consumer, PartitionListener, StoredRecord, TopicPartition } from "../log.ts";
import type { Partition } from "./partition.ts";

/** Most records one `onBatch` call may get; larger `maxBatch` values are refused. */
export const CONSUMER_BATCH_MAX = 10_000;

const RESOLVED = Promise.resolve();

/** One assigned partition and its fetch loop. */
interface Assignment {
  readonly tp: TopicPartition;
  readonly partition: Partition;
  paused: boolean;
  /** Wakes the loop from its sleep (set only while it sleeps). */
  wake: (() => void) | null;
  loop: Promise<void>;
}

export interface EmbeddedConsumerOptions {
  group: string;
  listener: PartitionListener;
  maxBatch: number;
  /** Read records as soon as they are written, before their fsync (see `ConsumeOptions`). */
  aheadOfFsync?: boolean;
  partitions: ReadonlyArray<{ tp: TopicPartition; partition: Partition }>;
  /** Called once the consumer has stopped and revoked everything. */
  onStopped: () => void;
}

export class EmbeddedConsumer implements Consumer {
  readonly group: string;
  /**
   * Resolves when the consumer has stopped. Rejects with the error of a listener call that threw:
   * the consumer then stops itself (revoking every partition), because a failed batch must not be
   * skipped and retrying it is the listener's (or its supervisor's) decision.
   */
  readonly done: Promise<void>;
  private readonly listener: PartitionListener;
  private readonly maxBatch: number;
  private readonly aheadOfFsync: boolean;
  private readonly assignments: Assignment[] = [];
  private readonly onStopped: () => void;
  private stopping = false;
  private stopped: Promise<void> | null = null;
  private failure: { error: unknown } | null = null;
  private settleDone: (error?: { error: unknown }) => void = () => {};

  /** Starts fetching every partition in `options.partitions` at once. */
  constructor(options: EmbeddedConsumerOptions) {
    if (
      !Number.isInteger(options.maxBatch) ||
      options.maxBatch < 1 ||
      options.maxBatch > CONSUMER_BATCH_MAX
    ) {
      throw new ValidationError(
        "maxBatch",
        `${options.maxBatch} is not a batch size; expected an integer from 1 to ${CONSUMER_BATCH_MAX}`,
      );
    }
    this.group = options.group;
    this.listener = options.listener;
    this.maxBatch = options.maxBatch;
    this.aheadOfFsync = options.aheadOfFsync === true;
    this.onStopped = options.onStopped;
    this.done = new Promise<void>((resolve, reject) => {
      this.settleDone = (failure) => (failure ? reject(failure.error) : resolve());
    });
    // Whoever does not watch `done` still learns of a failure from the listener's own handling.
    this.done.catch(() => {});
    consumerRebalances.inc({ group: this.group }); // one member: its one assignment
    for (const { tp, partition } of options.partitions) {
      const assignment: Assignment = { tp, partition, paused: false, wake: null, loop: RESOLVED };
      this.assignments.push(assignment);
      assignment.loop = this.run(assignment);
    }
  }

  /** Stops fetching `tp` after the batch in hand; unknown partitions are ignored. */
  pause(tp: TopicPartition): void {
    const assignment = this.find(tp);
    if (assignment) assignment.paused = true;
  }

  /** Resumes fetching `tp`; unknown partitions are ignored. */
  resume(tp: TopicPartition): void {
    const assignment = this.find(tp);
    if (!assignment?.paused) return;
    assignment.paused = false;
    assignment.wake?.();
  }

  assignment(): TopicPartition[] {
    return this.assignments.map(({ tp }) => ({ ...tp }));
  }

  /**
   * Stops fetching, waits for the batches in hand, then calls `onRevoked` for every partition and
   * leaves the group. Rejects if an `onRevoked` call threw (after calling all of them).
   */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    for (const assignment of this.assignments) assignment.wake?.();
    await Promise.all(this.assignments.map((assignment) => assignment.loop));
    const revoked = await Promise.allSettled(
      this.assignments.map((assignment) => this.listener.onRevoked(assignment.tp)),
    );
    this.assignments.length = 0;
    this.onStopped();
    this.settleDone(this.failure ?? undefined);
    const failed = revoked.find((result) => result.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  private async run(assignment: Assignment): Promise<void> {
    const { tp, partition } = assignment;
    try {
      const lag = gaugeSeries(consumerLagRecords, {
        topic: tp.topic,
        partition: String(tp.partition),
      });
      let position = await this.listener.onAssigned(tp);
      if (!Number.isSafeInteger(position) || position < 0) {
        throw new ValidationError(
          "onAssigned",
          `${tp.topic}/${tp.partition}: returned ${position}; expected an offset (an integer ≥ 0)`,
        );
      }
      while (!this.stopping) {
        if (assignment.paused) {
          await this.sleep(assignment, null);
          continue;
        }
        const records = partition.read(position, this.maxBatch, this.aheadOfFsync);
        if (records.length === 0) {
          await this.sleep(assignment, partition);
          continue;
        }
        await this.listener.onBatch(tp, records);
        position = (records[records.length - 1] as StoredRecord).offset + 1;
        lag.set(Math.max(0, partition.visibleEndOffset - position));
        // A macrotask turn per batch: with a fast listener a backlog would otherwise run as one
        // chain of microtasks and starve timers, I/O and the other partitions.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } catch (error) {
      this.failure ??= { error };
      void this.stop().catch(() => {});
    }
  }

  /** Waits for `wake` (resume, stop) or, with a partition, for its next visible records. */
  private sleep(assignment: Assignment, partition: Partition | null): Promise<void> {
    if (this.stopping) return RESOLVED;
    return new Promise<void>((resolve) => {
      let cancel = () => {};
      assignment.wake = () => {
        cancel();
        assignment.wake = null;
        resolve();
      };
      if (partition) {
        const wake = assignment.wake;
        cancel = this.aheadOfFsync
          ? partition.onWritten(() => wake())
          : partition.onVisible(() => wake());
      }
    });
  }

  private find(tp: TopicPartition): Assignment | undefined {
    return this.assignments.find(
      (assignment) => assignment.tp.topic === tp.topic && assignment.tp.partition === tp.partition,
    );
  }
}
