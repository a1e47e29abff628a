/**
 * One partition's delivery state inside a group consumer, and the serial queue its listener calls
 * go through, so `onAssigned`, `onBatch` and `onRevoked` for one partition never overlap and run
 * in the order they were decided (the PartitionListener contract).
 */
import { type GaugeSeries, gaugeSeries } from "../../metric-series.ts";
import { consumerLagRecords } from "../../metrics.ts";
import type { TopicPartition } from "../log.ts";

/** `topic|partition`, the key of a partition in maps and sets. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}|${partition}`;
}

export class PartitionLane {
  readonly key: string;
  /** In the group's current assignment to this member. */
  owned = false;
  /** `onAssigned` returned and the consumer was moved to its offset: batches may flow. */
  ready = false;
  /** The listener was told `onAssigned` and not yet `onRevoked`. */
  listenerOwns = false;
  /** Bumped on every assignment change, so work decided under an old one can tell it is stale. */
  epoch = 0;
  /** The next offset to deliver: one past the last record given to `onBatch`. */
  position = 0;
  /** Records behind the high watermark after each batch (runtime/metric-series.ts). */
  readonly lag: GaugeSeries;
  private tail: Promise<void> = Promise.resolve();

  constructor(readonly tp: TopicPartition) {
    this.key = partitionKey(tp.topic, tp.partition);
    this.lag = gaugeSeries(consumerLagRecords, {
      topic: tp.topic,
      partition: String(tp.partition),
    });
  }

  /** Runs `task` after every task enqueued before it; its failure does not stop later tasks. */
  enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.tail.then(task);
    this.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Resolves when every task enqueued so far has finished. */
  idle(): Promise<void> {
    return this.tail;
  }
}
