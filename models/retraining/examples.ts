/**
 * The training set of a retraining run: labelled examples read back from the use case's examples
 * topic (features as computed at prediction time, the label that arrived later), over an
 * event-time window, with the topic offsets read (the run's lineage).
 */

import { ValidationError } from "../../runtime/errors.ts";
import type { Log } from "../../runtime/log/log.ts";
import type { TopicOffsetRange } from "../registry/types.ts";

/** Examples in event-time order, as dense arrays. */
export interface ExampleSet {
  rows: number;
  cols: number;
  /** Row-major features. */
  x: Float32Array;
  y: Float64Array;
  /** Event time of each row's transaction, ms. */
  time: Float64Array;
  /** The score the serving model gave each row before its label was known. */
  servedScore: Float64Array;
  /** The partition ranges read, [fromOffset, toOffset). */
  offsets: TopicOffsetRange[];
  fromMs: number;
  toMs: number;
}

export interface ReadExamplesOptions {
  log: Log;
  topic: string;
  /** Columns the rows must have (the champion's feature count); other rows are skipped. */
  cols: number;
  /** Keep examples whose event time is ≥ this (ms). Default: all. */
  fromMs?: number;
  /** Bound on the rows kept (the most recent ones), and on the records read per partition. Default 500 000. */
  rowsMax?: number;
  /** Records per read call: small reads keep the event loop responsive. Default 2000. */
  readBatch?: number;
}

interface ExampleJson {
  features: number[];
  label: 0 | 1;
  score: number;
  event_time: string;
}

const decoder = new TextDecoder();

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Reads the examples topic, the last `rowsMax` records of every partition up to its end at the
 * time of the call, and keeps the `rowsMax` most recent by event time. Why not from the start: the
 * topic holds up to the log's retention (512 MiB a partition, millions of examples), and reading
 * it all took memory and event-loop time in proportion, for rows that were then dropped. Examples
 * are appended as their labels arrive, so a partition's last records are its most recent ones
 * (to the labels' delay).
 *
 * @example const set = await readExamples({ log, topic: "fraud.examples", cols: 33, fromMs });
 */
export async function readExamples(options: ReadExamplesOptions): Promise<ExampleSet> {
  const { log, topic, cols } = options;
  const rowsMax = options.rowsMax ?? 500_000;
  const readBatch = options.readBatch ?? 2000;
  const fromMs = options.fromMs ?? Number.NEGATIVE_INFINITY;
  if (!Number.isInteger(rowsMax) || rowsMax < 1) {
    throw new ValidationError("rowsMax", `${rowsMax}; expected an integer ≥ 1`);
  }
  if (!Number.isInteger(cols) || cols < 1) {
    throw new ValidationError("cols", `${cols}; expected the model's feature count (≥ 1)`);
  }
  const partitions = await log.partitionCount(topic);
  // Columns grow in typed arrays, not one object per example: 200k retained objects would cost a
  // major garbage collection (hundreds of ms of a stopped event loop) once the run drops them.
  let capacity = 4096;
  let features = new Float32Array(capacity * cols);
  let labels = new Float64Array(capacity);
  let times = new Float64Array(capacity);
  let served = new Float64Array(capacity);
  let count = 0;
  const grow = () => {
    capacity *= 2;
    const f = new Float32Array(capacity * cols);
    f.set(features);
    features = f;
    const l = new Float64Array(capacity);
    l.set(labels);
    labels = l;
    const t = new Float64Array(capacity);
    t.set(times);
    times = t;
    const v = new Float64Array(capacity);
    v.set(served);
    served = v;
  };
  const offsets: TopicOffsetRange[] = [];
  for (let partition = 0; partition < partitions; partition++) {
    const end = await log.endOffset(topic, partition);
    const start = Math.max(await log.startOffset(topic, partition), end - rowsMax);
    let offset = start;
    while (offset < end) {
      const records = await log.read(topic, partition, offset, Math.min(readBatch, end - offset));
      if (records.length === 0) break;
      for (const record of records) {
        const e = JSON.parse(decoder.decode(record.value)) as ExampleJson;
        const timeMs = Date.parse(e.event_time);
        if (!(timeMs >= fromMs) || e.features.length !== cols) continue;
        if (count === capacity) grow();
        // JSON has no NaN: a missing feature was written as null.
        for (let c = 0; c < cols; c++) features[count * cols + c] = e.features[c] ?? Number.NaN;
        labels[count] = e.label;
        times[count] = timeMs;
        served[count] = e.score;
        count++;
      }
      offset = (records[records.length - 1]?.offset ?? offset) + 1;
      // A read the log answers from memory resolves as a microtask, which never lets timers
      // run: yield a macrotask per chunk so the serving path keeps its turn.
      await yieldToEventLoop();
    }
    if (end > start) offsets.push({ topic, partition, fromOffset: start, toOffset: offset });
  }
  // Partitions interleave in time: order by event time (nearly sorted within each partition).
  const order = Array.from({ length: count }, (_, i) => i).sort(
    (a, b) => (times[a] as number) - (times[b] as number),
  );
  const rows = Math.min(rowsMax, count);
  const first = count - rows;
  const set: ExampleSet = {
    rows,
    cols,
    x: new Float32Array(rows * cols),
    y: new Float64Array(rows),
    time: new Float64Array(rows),
    servedScore: new Float64Array(rows),
    offsets,
    fromMs: rows > 0 ? (times[order[first] as number] as number) : 0,
    toMs: rows > 0 ? (times[order[count - 1] as number] as number) : 0,
  };
  for (let r = 0; r < rows; r++) {
    const i = order[first + r] as number;
    set.x.set(features.subarray(i * cols, (i + 1) * cols), r * cols);
    set.y[r] = labels[i] as number;
    set.time[r] = times[i] as number;
    set.servedScore[r] = served[i] as number;
  }
  return set;
}
