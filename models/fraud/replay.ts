/**
 * Offline replay: folds recorded transactions through the same state update and feature code as
 * the shard, and joins labels by transaction id, giving a training dataset with no
 * training/serving skew (the features of a row are those the shard computed, or would have, when
 * the event arrived).
 */

import { parseIsoTimestampMs } from "../../runtime/iso-timestamp.ts";
import { applyTransaction, type CardState, initialCardState } from "./card-state.ts";
import type { FeatureSchema } from "./feature-schema.ts";
import { computeFeatures } from "./features.ts";
import { type LabelEvent, type Transaction, transactionEntityKey } from "./schema.ts";

/** A dense, row-major dataset: the shape models/trainers/dataset.ts consumes. */
export interface Dataset {
  featureNames: string[];
  rows: number;
  cols: number;
  /** rows × cols features, row-major. */
  x: Float64Array;
  /** Label per row: 1 fraud, 0 legit, NaN unlabelled (only with `unlabelled: "keep"`). */
  y: Float64Array;
  /** Event time per row, ms since the epoch (for time-based splits). */
  time: Float64Array;
}

/** One transaction with its point-in-time features. */
export interface ReplayedRow {
  tx: Transaction;
  /** Reused between rows: copy it to keep it. */
  features: Float64Array;
}

/**
 * Yields each transaction with its features, in input order. States are folded per entity key
 * (card_id ?? user_id), so the input only needs to be in order per card, as a topic partition is.
 */
export function* replayFeatures(
  transactions: Iterable<Transaction>,
  schema: FeatureSchema,
): Generator<ReplayedRow> {
  const states = new Map<string, CardState>();
  const features = new Float64Array(schema.names.length);
  for (const tx of transactions) {
    const key = transactionEntityKey(tx);
    let state = states.get(key);
    if (!state) {
      state = initialCardState();
      states.set(key, state);
    }
    computeFeatures(state, tx, schema, features);
    yield { tx, features };
    // Replay owns these states, so it applies in place; the result equals the shard's copy-update.
    applyTransaction(state, tx);
  }
}

export interface ReplayOptions {
  schema: FeatureSchema;
  /** Label events (fraud.labels); a transaction's inline `is_fraud` is used when it has none. */
  labels?: Iterable<LabelEvent>;
  /** Ignore labels known after this time (what a model trained at that moment could see). */
  labelCutoffMs?: number;
  /** `drop` (default): only labelled rows. `keep`: every row, NaN for unknown labels. */
  unlabelled?: "drop" | "keep";
  /** Upper bound on rows; replay stops there. */
  rowsMax?: number;
}

/** The label of every transaction id, the latest one known by the cutoff winning. */
function labelIndex(labels: Iterable<LabelEvent>, cutoffMs: number): Map<string, number> {
  const byId = new Map<string, { value: number; timeMs: number }>();
  for (const label of labels) {
    const timeMs = parseIsoTimestampMs(label.label_time);
    if (!(timeMs <= cutoffMs)) continue;
    const known = byId.get(label.transaction_id);
    if (!known || timeMs >= known.timeMs) {
      byId.set(label.transaction_id, { value: label.is_fraud, timeMs });
    }
  }
  return new Map([...byId].map(([id, { value }]) => [id, value]));
}

/**
 * Replays transactions into a {@link Dataset}.
 *
 * @example
 * const data = replayDataset(transactions, { schema, labels, labelCutoffMs: trainEndMs });
 */
export function replayDataset(
  transactions: Iterable<Transaction>,
  options: ReplayOptions,
): Dataset {
  const { schema } = options;
  const cols = schema.names.length;
  const rowsMax = options.rowsMax ?? 10_000_000;
  const keepUnlabelled = options.unlabelled === "keep";
  const labels = labelIndex(
    options.labels ?? [],
    options.labelCutoffMs ?? Number.POSITIVE_INFINITY,
  );

  let capacity = 1024;
  let x = new Float64Array(capacity * cols);
  let y = new Float64Array(capacity);
  let time = new Float64Array(capacity);
  let rows = 0;
  for (const { tx, features } of replayFeatures(transactions, schema)) {
    const label = labels.get(tx.transaction_id) ?? tx.is_fraud ?? Number.NaN;
    if (Number.isNaN(label) && !keepUnlabelled) continue;
    if (rows === rowsMax) break;
    if (rows === capacity) {
      capacity = Math.min(rowsMax, capacity * 2);
      const grownX = new Float64Array(capacity * cols);
      grownX.set(x);
      const grownY = new Float64Array(capacity);
      grownY.set(y);
      const grownTime = new Float64Array(capacity);
      grownTime.set(time);
      x = grownX;
      y = grownY;
      time = grownTime;
    }
    x.set(features, rows * cols);
    y[rows] = label;
    time[rows] = tx.timeMs;
    rows++;
  }
  return {
    featureNames: [...schema.names],
    rows,
    cols,
    x: x.slice(0, rows * cols),
    y: y.slice(0, rows),
    time: time.slice(0, rows),
  };
}
