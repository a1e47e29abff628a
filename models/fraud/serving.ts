/**
 * The fraud use case's serving path, one processor per shard: for each transaction it computes
 * the features from the card's state BEFORE the transaction (point in time), and after each
 * shard batch it scores the batch's rows in one micro-batched call to the inference actor and
 * appends the scores to `fraud.scores` (same partition as the card), with the decision at the
 * champion's saved threshold, the model version, and a deterministic id (the topic, partition and
 * offset the transaction was written to) so a consumer can drop the duplicates a crash replay may
 * write.
 *
 * Predict first, then learn: each scored transaction's prediction (with its feature row) is kept
 * in the shard's {@link PredictionStore} until its label reaches the same shard (labels are keyed
 * by card too). In the batch's flush, AFTER the batch is scored, each label is joined to its
 * stored prediction: the pair becomes a training example on `fraud.examples` (same partition) and
 * feeds the online quality window. A label with no stored prediction waits in
 * {@link EarlyLabels} for its transaction (the shard may read the labels topic ahead of the
 * transactions); one whose transaction does not come is counted as unmatched. An inline
 * `is_fraud` (the original producers' format) is a label applied right after its own transaction
 * was scored.
 *
 * With no champion nothing is scored (never an untrained model's output); the state still
 * advances and readiness says why. The labels of those transactions count as unscored, not
 * unmatched ({@link UnscoredTransactions}).
 *
 * The predictions waiting, and the labels waiting for their transactions, are checkpointed with
 * the shard as its processor's journal (prediction-journal.ts): a restart loses none of them.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import type { InferenceActor } from "../../actors/inference/index.ts";
import type { ServingModel } from "../../actors/models/champion-watcher.ts";
import { writeFileAtomicSync } from "../../runtime/log/embedded/atomic-file.ts";
import type { Log, LogRecord, StoredRecord } from "../../runtime/log/log.ts";
import {
  counterSeries,
  type GaugeSeries,
  gaugeSeries,
  removeSeries,
} from "../../runtime/metric-series.ts";
import {
  labelDelaySeconds,
  labelsTotal,
  predictionJournalBytes,
  predictionJournalSnapshots,
  predictionsEvicted,
  predictionsStored,
  recordScores,
  trainingExamples,
} from "../../runtime/metrics.ts";
import type { BatchProcessor } from "../../runtime/shard/entity-model.ts";
import {
  SOURCE_OFFSET_HEADER,
  SOURCE_PARTITION_HEADER,
  SOURCE_TOPIC_HEADER,
} from "../../runtime/shard/shard.ts";
import type { LifecycleHooks } from "../retraining/lifecycle.ts";
import type { CardState } from "./card-state.ts";
import { EarlyLabels } from "./early-labels.ts";
import { type FraudEvent, isLabel } from "./entity.ts";
import { type FeatureSchema, parseFeatureSchema } from "./feature-schema.ts";
import { computeFeatures } from "./features.ts";
import type { OnlineQuality } from "./online-quality.ts";
import { OutcomeMetrics } from "./outcome-metrics.ts";
import { PredictionJournal } from "./prediction-journal.ts";
import { PredictionStore, type StoredPrediction } from "./prediction-store.ts";
import type { Label, Transaction } from "./schema.ts";
import { UnscoredTransactions } from "./unscored-transactions.ts";

export const FRAUD_SCORES_TOPIC = "fraud.scores";
export const FRAUD_EXAMPLES_TOPIC = "fraud.examples";

/** One scored transaction, as written to the scores topic. */
export interface FraudScore {
  id: string;
  transaction_id: string;
  card_id: string;
  amount: number;
  timestamp: string;
  score: number;
  decision: "flag" | "pass";
  threshold: number;
  model_version: number;
}

/** One training example, as written to the examples topic: features at prediction time + label. */
export interface FraudExample {
  /** Deterministic: the label's topic, partition and offset (inline: the transaction's). */
  id: string;
  transaction_id: string;
  card_id: string;
  features: number[];
  /** The feature schema version of the model that scored it (its columns are that schema's). */
  feature_schema_version: number;
  label: 0 | 1;
  /** The score the model gave before the label was known. */
  score: number;
  threshold: number;
  model_version: number;
  /** The transaction's event time, ISO-8601. */
  event_time: string;
  /** When the label became known (event time), ISO-8601; the transaction's time for inline. */
  label_time: string;
  /** `chargeback`, `confirmed`, or `inline` (the original producers' is_fraud). */
  label_kind: string;
}

export interface FraudServingOptions {
  log: Log;
  scoresTopic: string;
  /** Where training examples go (default `fraud.examples`). */
  examplesTopic?: string;
  inference: InferenceActor;
  /** The champion being served, or null. */
  serving: () => ServingModel | null;
  /** Online quality of the use case, shared by its shards. */
  quality?: OnlineQuality;
  /** Bounds of the shard's prediction store. */
  predictionsMax?: number;
  predictionAgeMaxMs?: number;
  /** Most labels held for transactions not yet scored (default 10,000; see EarlyLabels). */
  earlyLabelsMax?: number;
  /** Use case name for the metrics (default `fraud`). */
  usecase?: string;
  /** Called with the number of events left unscored because there is no champion. */
  onUnscored?: (count: number) => void;
  /** Each scored batch with its feature rows (row-major; the buffer is reused: copy to keep). */
  onScored?: (scores: FraudScore[], features: Float32Array) => void;
  onExamples?: (examples: FraudExample[]) => void;
  /** The model lifecycle (drift, shadow comparison, canary decisions); see docs/retraining.md. */
  lifecycle?: LifecycleHooks;
  /**
   * File that keeps the ids of the transactions applied without a champion across restarts
   * (`UnscoredTransactions`); without it they are kept in memory only.
   */
  unscoredPath?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Parsed feature schemas by model version: parsing JSON per batch would be waste. */
const schemas = new Map<number, FeatureSchema>();

function schemaOf(model: ServingModel): FeatureSchema {
  let schema = schemas.get(model.version);
  if (!schema) {
    schema = parseFeatureSchema(model.info.featureSchema);
    schemas.set(model.version, schema);
  }
  return schema;
}

interface Pending {
  key: string;
  tx: Transaction;
  /** The transaction's deterministic id (see {@link recordId}). */
  id: string;
}

interface PendingLabel {
  label: Label;
  id: string;
}

/**
 * Where the user wrote a record, as `topic/partition/offset`: for a re-keyed copy its source (from
 * its headers), so an id is the same whether the shard read the input or the repartition topic.
 */
function recordId(topic: string, partition: number, record: StoredRecord): string {
  const source = record.headers[SOURCE_TOPIC_HEADER];
  if (source === undefined) return `${topic}/${partition}/${record.offset}`;
  return `${source}/${record.headers[SOURCE_PARTITION_HEADER]}/${record.headers[SOURCE_OFFSET_HEADER]}`;
}

export function fraudServing(
  options: FraudServingOptions,
  partition: number,
): BatchProcessor<CardState, FraudEvent> {
  const usecase = options.usecase ?? "fraud";
  const examplesTopic = options.examplesTopic ?? FRAUD_EXAMPLES_TOPIC;
  const shard = { usecase, shard: String(partition) };
  // Per-batch metric series, resolved once (runtime/metric-series.ts); the shard's own gauge is
  // resolved again after a close removed it.
  let storedGauge: GaugeSeries | null = null;
  const stored = () => {
    storedGauge ??= gaugeSeries(predictionsStored, shard);
    return storedGauge;
  };
  const matchedCounter = counterSeries(labelsTotal, { usecase, outcome: "matched" });
  const unmatchedCounter = counterSeries(labelsTotal, { usecase, outcome: "unmatched" });
  const unscoredCounter = counterSeries(labelsTotal, { usecase, outcome: "unscored" });
  /** Transactions applied without a champion: their labels count as unscored, not unmatched. */
  const unscoredIds = new UnscoredTransactions();
  const examplesCounter = counterSeries(trainingExamples, { usecase });
  const labelDelay = labelDelaySeconds.labels({ usecase });
  const journal = new PredictionJournal();
  const store = new PredictionStore({
    maxCount: options.predictionsMax,
    maxAgeMs: options.predictionAgeMaxMs,
    onEvict: (reason, count) => predictionsEvicted.inc({ usecase, reason }, count),
    ops: journal.ops,
  });
  const early = new EarlyLabels<PendingLabel>(options.earlyLabelsMax);
  /** Event time of the newest transaction applied: early labels up to it are given up. */
  let transactionsReachedMs = Number.NEGATIVE_INFINITY;
  const outcomes = new OutcomeMetrics(usecase);
  let batchStartedMs = 0;
  let started = false;
  let model: ServingModel | null = null;
  let schema: FeatureSchema | null = null;
  let rows = new Float32Array(0);
  let row = new Float64Array(0);
  let pending: Pending[] = [];
  let labels: PendingLabel[] = [];
  /** Labels of this batch, counted once its examples are written. */
  let matched = 0;
  let unmatched = 0;
  let unscoredLabels = 0;
  /** The last flush's output appends, until durable (see `flush`). */
  let outputsInFlight: Promise<unknown> = Promise.resolve();

  /** Joins a label to its stored prediction; the example, or null (counted unmatched). */
  function join(
    transactionId: string,
    cardId: string,
    isFraud: 0 | 1,
    labelTimeMs: number,
    labelTime: string,
    kind: string,
    id: string,
  ): FraudExample | null {
    const prediction = store.take(transactionId, cardId);
    if (!prediction) {
      unmatched++;
      return null;
    }
    matched++;
    outcomes.add(prediction, isFraud);
    labelDelay.observe(Math.max(0, (labelTimeMs - prediction.eventTimeMs) / 1000));
    options.lifecycle?.labelled(transactionId, isFraud, prediction.score, prediction.eventTimeMs);
    options.quality?.record(
      prediction.model_version,
      prediction.threshold,
      prediction.score,
      isFraud,
    );
    return exampleOf(prediction, isFraud, labelTime, kind, id);
  }

  function joinLabel({ label, id }: PendingLabel): FraudExample | null {
    return join(
      label.transaction_id,
      label.card_id,
      label.is_fraud,
      label.labelTimeMs,
      label.label_time,
      label.kind,
      id,
    );
  }

  function exampleOf(
    p: StoredPrediction,
    label: 0 | 1,
    labelTime: string,
    kind: string,
    id: string,
  ): FraudExample {
    return {
      id,
      transaction_id: p.transaction_id,
      card_id: p.card_id,
      features: Array.from(p.features),
      feature_schema_version: p.featureSchemaVersion,
      label,
      score: p.score,
      threshold: p.threshold,
      model_version: p.model_version,
      event_time: new Date(p.eventTimeMs).toISOString(),
      label_time: labelTime,
      label_kind: kind,
    };
  }

  return {
    onEvent(key, before, event, record, topic) {
      if (!started) {
        // One model per batch: the features and the scores must come from the same version.
        started = true;
        batchStartedMs = performance.now();
        model = options.serving();
        schema = model ? schemaOf(model) : null;
      }
      if (isLabel(event)) {
        labels.push({ label: event, id: recordId(topic, partition, record) });
        return;
      }
      const tx = event;
      if (tx.timeMs > transactionsReachedMs) transactionsReachedMs = tx.timeMs;
      if (!model || !schema) {
        outcomes.unscored();
        options.onUnscored?.(1);
        // Never scored, so nothing to learn from: its labels, inline, held or to come, say so.
        unscoredIds.add(tx.transaction_id);
        if (tx.is_fraud !== undefined) unscoredLabels++;
        if (early.take(tx.transaction_id)) unscoredLabels++;
        return;
      }
      const cols = schema.names.length;
      const need = (pending.length + 1) * cols;
      if (rows.length < need) {
        const grown = new Float32Array(Math.max(need, rows.length * 2));
        grown.set(rows);
        rows = grown;
      }
      if (row.length !== cols) row = new Float64Array(cols);
      computeFeatures(before, tx, schema, row);
      rows.set(row, pending.length * cols);
      pending.push({ key, tx, id: recordId(topic, partition, record) });
    },
    async flush(inputVisible: Promise<void>) {
      const batch = pending;
      const batchLabels = labels;
      const batchModel = model;
      const batchSchema = schema;
      pending = [];
      labels = [];
      started = false;
      const examples: FraudExample[] = [];
      let scoresAppended: Promise<unknown> | null = null;
      // Score first, then join: a label in the same batch as its transaction finds its prediction.
      if (batch.length > 0 && batchModel && batchSchema) {
        const cols = batchSchema.names.length;
        const result = await options.inference
          .scoreMany(rows, batch.length)
          .catch(outcomes.scoringFailed(batch.length));
        // The actor may have swapped champions between this batch's features and its scoring;
        // the scores then come from the version it reports, and that version's threshold applies.
        const version = Number(result.modelVersion);
        const threshold =
          version === batchModel.version
            ? batchModel.threshold
            : (options.serving()?.threshold ?? batchModel.threshold);
        const scores: FraudScore[] = [];
        const records: LogRecord[] = [];
        // A canary: its share of cards get the challenger's score, threshold and version.
        const plan = options.lifecycle?.canary() ?? null;
        const canary =
          plan && result.challengerScores && Number(result.challengerVersion) === plan.version
            ? { plan, scores: result.challengerScores }
            : null;
        for (let i = 0; i < batch.length; i++) {
          const { key, tx, id } = batch[i] as Pending;
          const onCanary = canary?.plan.includes(key) === true;
          const score = (onCanary ? canary?.scores[i] : result.scores[i]) ?? Number.NaN;
          const rowThreshold = onCanary ? (canary?.plan.threshold ?? threshold) : threshold;
          const rowVersion = onCanary ? (canary?.plan.version ?? version) : version;
          const decision = score >= rowThreshold ? "flag" : "pass";
          const out: FraudScore = {
            id,
            transaction_id: tx.transaction_id,
            card_id: key,
            amount: tx.amount,
            timestamp: tx.timestamp,
            score,
            decision,
            threshold: rowThreshold,
            model_version: rowVersion,
          };
          scores.push(out);
          records.push({ key: encoder.encode(key), value: encoder.encode(JSON.stringify(out)) });
          store.put(
            {
              transaction_id: tx.transaction_id,
              card_id: key,
              score,
              decision,
              threshold: rowThreshold,
              model_version: rowVersion,
              amount: tx.amount,
              eventTimeMs: tx.timeMs,
              featureSchemaVersion: batchSchema.version,
            },
            rows,
            i * cols,
            cols,
          );
          if (tx.is_fraud !== undefined) {
            // The original producers' inline label: known now, applied after the score.
            const example = join(
              tx.transaction_id,
              key,
              tx.is_fraud,
              tx.timeMs,
              tx.timestamp,
              "inline",
              id,
            );
            if (example) examples.push(example);
          }
          const waiting = early.take(tx.transaction_id);
          if (waiting) {
            const example = joinLabel(waiting);
            if (example) examples.push(example);
          }
        }
        // Scored while the transactions' fsync ran; their scores wait for it, and for the last
        // batch's outputs, so that appends never overlap and stay in order on any log.
        await inputVisible;
        await outputsInFlight;
        scoresAppended = options.log.append(options.scoresTopic, partition, records);
        recordScores(usecase, version, result.scores, batch.length, threshold, batchStartedMs);
        options.onScored?.(scores, rows);
        options.lifecycle?.scored({
          ids: batch.map((p) => p.tx.transaction_id),
          rows,
          count: batch.length,
          cols,
          scores: result.scores,
          challengerScores: result.challengerScores,
          challengerVersion: result.challengerVersion,
          eventTimeMs: (batch[batch.length - 1] as Pending).tx.timeMs,
        });
      }
      for (const pendingLabel of batchLabels) {
        const { label } = pendingLabel;
        store.advance(label.labelTimeMs);
        if (!store.has(label.transaction_id)) {
          if (unscoredIds.has(label.transaction_id)) {
            unscoredLabels++;
            continue;
          }
          // Its transaction may not be scored yet: it waits (bounded) rather than being lost.
          unmatched += early.hold(label.transaction_id, label.labelTimeMs, pendingLabel).length;
          continue;
        }
        const example = joinLabel(pendingLabel);
        if (example) examples.push(example);
      }
      unmatched += early.expire(transactionsReachedMs).length;
      if (batch.length > 0 || batchLabels.length > 0) stored().set(store.size);
      let examplesAppended: Promise<void> | null = null;
      if (examples.length > 0) {
        await inputVisible;
        // Settled already when this flush appended scores (they waited for it too).
        await outputsInFlight;
        examplesAppended = options.log
          .append(
            examplesTopic,
            partition,
            examples.map((e) => ({
              key: encoder.encode(e.card_id),
              value: encoder.encode(JSON.stringify(e)),
            })),
          )
          .then(() => {
            examplesCounter.inc(examples.length);
            options.onExamples?.(examples);
          });
      }
      if (scoresAppended || examplesAppended) {
        // Not awaited here: their fsync overlaps the next batch's reading and scoring. The next
        // flush's appends and the shard's next checkpoint wait for them (`outputsDurable`).
        outputsInFlight = Promise.all([scoresAppended, examplesAppended]);
        // A failure is thrown where it is awaited; it is never an unhandled rejection meanwhile.
        outputsInFlight.catch(() => {});
      }
      if (matched > 0) matchedCounter.inc(matched);
      if (unmatched > 0) unmatchedCounter.inc(unmatched);
      if (unscoredLabels > 0) unscoredCounter.inc(unscoredLabels);
      matched = 0;
      unmatched = 0;
      unscoredLabels = 0;
      outcomes.flush();
      options.quality?.refresh();
    },
    outputsDurable() {
      return outputsInFlight.then(() => {});
    },
    checkpoint() {
      if (unscoredIds.dirty && options.unscoredPath)
        saveUnscored(unscoredIds, options.unscoredPath);
      const snapshots = journal.snapshots;
      const entry = journal.cut(store, encodeWaiting(early, transactionsReachedMs));
      if (journal.snapshots > snapshots) predictionJournalSnapshots.inc({ usecase });
      predictionJournalBytes.set(shard, journal.bytes);
      return entry;
    },
    restore(entries) {
      early.clear();
      transactionsReachedMs = Number.NEGATIVE_INFINITY;
      const extra = journal.restore(store, entries);
      if (extra) transactionsReachedMs = decodeWaiting(extra, early);
      if (options.unscoredPath && existsSync(options.unscoredPath)) {
        unscoredIds.fromBytes(readFileSync(options.unscoredPath));
      }
      stored().set(store.size);
      predictionJournalBytes.set(shard, journal.bytes);
    },
    async close() {
      // Its outputs settle before the log may close under them (a failure was already thrown).
      await outputsInFlight.catch(() => {});
      store.clear();
      early.clear();
      removeSeries(predictionsStored, shard);
      storedGauge = null;
      predictionJournalBytes.remove(shard);
    },
  };
}

/**
 * Writes the unscored ids to `path` (a temporary file renamed over it, so a reader finds the old
 * file or the new one). A failed write leaves them dirty, for the next checkpoint to try again.
 * Not fsynced: a machine crash may keep an older file, whose missing ids only make some labels
 * count as unmatched (a restart replays the events after the checkpoint, which adds them again).
 */
function saveUnscored(unscored: UnscoredTransactions, path: string): void {
  const bytes = unscored.toBytes();
  if (!bytes) return;
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileAtomicSync(path, bytes, false);
  } catch {
    unscored.dirty = true;
  }
}

/** What a journal entry's extra bytes hold: the labels waiting, and how far transactions went. */
interface Waiting {
  /** Event time of the newest transaction applied (null before the first). */
  reachedMs: number | null;
  labels: { transactionId: string; labelTimeMs: number; item: PendingLabel }[];
}

const NO_WAITING = encoder.encode(JSON.stringify({ reachedMs: null, labels: [] }));

function encodeWaiting(early: EarlyLabels<PendingLabel>, reachedMs: number): Uint8Array {
  const known = Number.isFinite(reachedMs) ? reachedMs : null;
  if (early.size === 0 && known === null) return NO_WAITING;
  const waiting: Waiting = { reachedMs: known, labels: [...early.entries()] };
  return encoder.encode(JSON.stringify(waiting));
}

/** Holds the labels again, in order; returns how far the transactions went. */
function decodeWaiting(bytes: Uint8Array, early: EarlyLabels<PendingLabel>): number {
  const waiting = JSON.parse(decoder.decode(bytes)) as Waiting;
  for (const { transactionId, labelTimeMs, item } of waiting.labels) {
    early.hold(transactionId, labelTimeMs, item);
  }
  return waiting.reachedMs ?? Number.NEGATIVE_INFINITY;
}
