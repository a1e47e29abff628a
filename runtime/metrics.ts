/**
 * The platform's Prometheus registry and the runtime's own metrics.
 *
 * Conventions (STYLE.md): prefix `coelho_`, base units, counters end in `_total`, histograms over
 * summaries, bounded labels only. `kind` is an actor kind (`shard`, `ingestion`, ...), never an
 * actor instance; `shard` is a partition number, bounded by the partition count; never an entity id.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { BatchHistogram, type HistogramSeries } from "./batch-histogram.ts";
import { type CounterSeries, counterSeries, removeSeries } from "./metric-series.ts";

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: "coelho_process_" });

export const actorMessages = new Counter({
  name: "coelho_actor_messages_total",
  help: "Messages processed by actors, per actor kind.",
  labelNames: ["kind"] as const,
  registers: [registry],
});

export const actorFailures = new Counter({
  name: "coelho_actor_failures_total",
  help: "Messages whose processing failed, per actor kind and error kind (validation|failure).",
  labelNames: ["kind", "error"] as const,
  registers: [registry],
});

export const actorProcessingSeconds = new BatchHistogram({
  name: "coelho_actor_processing_seconds",
  help: "Time to process one message (sampled on the synchronous hot path), per actor kind.",
  labelNames: ["kind"] as const,
  buckets: [1e-6, 5e-6, 2.5e-5, 1e-4, 5e-4, 0.0025, 0.01, 0.05, 0.25, 1],
  registers: [registry],
});

export const mailboxDepth = new Gauge({
  name: "coelho_actor_mailbox_depth",
  help: "Messages waiting in mailboxes, summed per actor kind.",
  labelNames: ["kind"] as const,
  registers: [registry],
});

export const mailboxCapacity = new Gauge({
  name: "coelho_actor_mailbox_capacity",
  help: "Mailbox capacity, summed per actor kind.",
  labelNames: ["kind"] as const,
  registers: [registry],
});

export const deadLetters = new Counter({
  name: "coelho_dead_letters_total",
  help: "Messages that could not be delivered or processed, per actor kind and reason.",
  labelNames: ["kind", "reason"] as const,
  registers: [registry],
});

export const restarts = new Counter({
  name: "coelho_supervisor_restarts_total",
  help: "Child restarts, per supervisor id.",
  labelNames: ["supervisor"] as const,
  registers: [registry],
});

export const escalations = new Counter({
  name: "coelho_supervisor_escalations_total",
  help: "Times a supervisor exceeded its restart intensity and failed to its parent.",
  labelNames: ["supervisor"] as const,
  registers: [registry],
});

export const entitiesActive = new Gauge({
  name: "coelho_entities_active",
  help: "Entities held in memory, per use case and shard.",
  labelNames: ["usecase", "shard"] as const,
  registers: [registry],
});

export const entitiesPassivated = new Counter({
  name: "coelho_entities_passivated_total",
  help: "Entities evicted from memory (idle or over the shard's entity limit).",
  labelNames: ["usecase", "shard", "reason"] as const,
  registers: [registry],
});

export const checkpointSeconds = new Histogram({
  name: "coelho_checkpoint_seconds",
  help: "Time to write one shard checkpoint.",
  labelNames: ["usecase"] as const,
  buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
  registers: [registry],
});

export const checkpointLagEvents = new Gauge({
  name: "coelho_checkpoint_lag_events",
  help: "Events applied to state but not yet in a checkpoint, per use case and shard.",
  labelNames: ["usecase", "shard"] as const,
  registers: [registry],
});

export const eventsIn = new Counter({
  name: "coelho_events_in_total",
  help: "Events read from input topics.",
  labelNames: ["topic"] as const,
  registers: [registry],
});

export const deadLetterEvents = new Counter({
  name: "coelho_dlq_events_total",
  help: "Events sent to a dead-letter topic, per source topic and reason code.",
  labelNames: ["topic", "reason"] as const,
  registers: [registry],
});

export const eventLoopDelaySeconds = new Histogram({
  name: "coelho_event_loop_delay_seconds",
  help: "Event-loop delay measured by the platform's own timer (prom-client's reads 0 on Bun).",
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  registers: [registry],
});

// ---- inference (actors/inference) ----------------------------------------------------------
// `model_version` is bounded by the live champion and challenger: the actor removes a retired
// version's series once a few newer ones have retired after it. `role` is champion|challenger.

export const inferenceBatchRows = new BatchHistogram({
  name: "coelho_inference_batch_rows",
  help: "Rows per scoring batch (one onnxruntime call per model), per use case.",
  labelNames: ["usecase"] as const,
  buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
  registers: [registry],
});

export const inferenceBatchSeconds = new BatchHistogram({
  name: "coelho_inference_batch_seconds",
  help: "Time of one onnxruntime call on a batch, per use case, model version and role.",
  labelNames: ["usecase", "model_version", "role"] as const,
  buckets: [1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25],
  registers: [registry],
});

export const inferenceRowSeconds = new BatchHistogram({
  name: "coelho_inference_row_seconds",
  help: "Scoring time per row (a batch's time over its rows, observed once per batch), per use case and champion version.",
  labelNames: ["usecase", "model_version"] as const,
  buckets: [1e-7, 2.5e-7, 5e-7, 1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 0.001],
  registers: [registry],
});

export const inferenceLatencySeconds = new BatchHistogram({
  name: "coelho_inference_latency_seconds",
  help: "Time from a score request to its result (queueing, batching wait and scoring), per use case; one observation per batch, for its oldest request (the batch's worst).",
  labelNames: ["usecase"] as const,
  buckets: [5e-5, 1e-4, 2.5e-4, 5e-4, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
  registers: [registry],
});

export const inferenceRows = new Counter({
  name: "coelho_inference_rows_total",
  help: "Rows scored, per use case, model version and role.",
  labelNames: ["usecase", "model_version", "role"] as const,
  registers: [registry],
});

export const inferenceErrors = new Counter({
  name: "coelho_inference_errors_total",
  help: "Inference errors, per use case and reason (batch_failed|challenger_failed|challenger_dropped|no_champion|queue_full|abandoned|scorer_unusable).",
  labelNames: ["usecase", "reason"] as const,
  registers: [registry],
});

export const inferenceQueueRows = new Gauge({
  name: "coelho_inference_queue_rows",
  help: "Rows held by inference actors (queued or being scored), per use case.",
  labelNames: ["usecase"] as const,
  registers: [registry],
});

// ---- fraud: labels, examples and online quality (models/fraud) -----------------------------
// `model_version` is bounded by the versions being served plus the last few retired (the online
// quality window drops the series of older ones); `metric` is pr_auc|roc_auc|precision|recall|f2.

/** Called before each scrape of the quality gauges (they refresh if due: quiet streams too). */
export const modelQualityRefreshers = new Set<() => void>();

export const modelQuality = new Gauge({
  name: "coelho_model_quality",
  help: "Online quality over the most recent labelled predictions, per use case, model version and metric (pr_auc|roc_auc|precision|recall|f2).",
  labelNames: ["usecase", "model_version", "metric"] as const,
  registers: [registry],
  collect() {
    for (const refresh of modelQualityRefreshers) refresh();
  },
});

export const modelQualityWindowLabels = new Gauge({
  name: "coelho_model_quality_window_labels",
  help: "Labelled predictions in the online quality window, per use case and model version.",
  labelNames: ["usecase", "model_version"] as const,
  registers: [registry],
});

export const labelsTotal = new Counter({
  name: "coelho_labels_total",
  help: "Labels that reached the shards, per use case and outcome (matched: joined to a stored prediction; unscored: their transaction was applied without a champion; unmatched: no prediction held otherwise).",
  labelNames: ["usecase", "outcome"] as const,
  registers: [registry],
});

export const labelDelaySeconds = new BatchHistogram({
  name: "coelho_label_delay_seconds",
  help: "Event-time delay from a transaction to its label, for matched labels, per use case.",
  labelNames: ["usecase"] as const,
  // 0 (inline labels), a minute, an hour, 6 hours, then days: 1, 3, 7, 14, 30, 60.
  buckets: [0, 60, 3600, 21_600, 86_400, 259_200, 604_800, 1_209_600, 2_592_000, 5_184_000],
  registers: [registry],
});

export const predictionsStored = new Gauge({
  name: "coelho_predictions_stored",
  help: "Predictions held awaiting their labels, per use case and shard.",
  labelNames: ["usecase", "shard"] as const,
  registers: [registry],
});

export const predictionsEvicted = new Counter({
  name: "coelho_predictions_evicted_total",
  help: "Stored predictions evicted before their label arrived, per use case and reason (count|age).",
  labelNames: ["usecase", "reason"] as const,
  registers: [registry],
});

export const predictionJournalBytes = new Gauge({
  name: "coelho_prediction_journal_bytes",
  help: "Bytes of the predictions' journal a restore would replay (kept in the shard's checkpoint), per use case and shard.",
  labelNames: ["usecase", "shard"] as const,
  registers: [registry],
});

export const predictionJournalSnapshots = new Counter({
  name: "coelho_prediction_journal_snapshots_total",
  help: "Journal entries written as a snapshot of the whole prediction store (the journal outgrew its bound), per use case.",
  labelNames: ["usecase"] as const,
  registers: [registry],
});

export const trainingExamples = new Counter({
  name: "coelho_training_examples_total",
  help: "Training examples (features at prediction time joined to the label) written, per use case.",
  labelNames: ["usecase"] as const,
  registers: [registry],
});

// ---- streaming: outputs, consumers (runtime/log) ---------------------------------------------
// `topic` is bounded by the use cases' topics (inputs, outputs, dead letters, repartition);
// `partition` by the partition count; `group` by the use cases (one or two groups each).

export const eventsOut = new Counter({
  name: "coelho_events_out_total",
  help: "Records appended to topics by the platform (scores, examples, dead letters, re-keyed events...), per topic.",
  labelNames: ["topic"] as const,
  registers: [registry],
});

export const produceErrors = new Counter({
  name: "coelho_produce_errors_total",
  help: "Appends to a topic that failed (the records were not written), per topic.",
  labelNames: ["topic"] as const,
  registers: [registry],
});

/** Each topic's appended-records series; its produce-error series exists (at 0) with it. */
const appendedTo = new Map<string, CounterSeries>();

/** Counts `count` records appended to `topic`: one call per append, never per record. */
export function recordAppended(topic: string, count: number): void {
  let series = appendedTo.get(topic);
  if (!series) {
    series = counterSeries(eventsOut, { topic });
    appendedTo.set(topic, series);
    // A rate of errors reads 0 rather than nothing.
    produceErrors.inc({ topic }, 0);
  }
  series.inc(count);
}

/**
 * For `promise.catch(...)` on an append: counts the failure for `topic` and rethrows it.
 * @example await log.append(topic, 0, records).catch(produceFailed(topic));
 */
export function produceFailed(topic: string): (error: unknown) => never {
  return (error) => {
    produceErrors.inc({ topic });
    throw error;
  };
}

export const consumerLagRecords = new Gauge({
  name: "coelho_consumer_lag_records",
  help: "Records in a partition not yet delivered to this instance's consumer (end offset minus position, after each batch), per topic and partition.",
  labelNames: ["topic", "partition"] as const,
  registers: [registry],
});

export const consumerRebalances = new Counter({
  name: "coelho_consumer_rebalances_total",
  help: "Assignments this instance's consumer received (the first join counts), per consumer group.",
  labelNames: ["group"] as const,
  registers: [registry],
});

// ---- scoring: scores, decisions and latency per model version (models/<usecase>/serving) -----
// `model_version` is bounded: a use case keeps the series of its SCORE_VERSIONS_MAX most recent
// versions (see recordScores), as the inference metrics do.

export const eventToScoreSeconds = new BatchHistogram({
  name: "coelho_event_to_score_seconds",
  help: "Time from a shard taking an event's batch to the event's score being written, per use case; one observation per batch (its events share it). Waiting before the shard shows as consumer lag.",
  labelNames: ["usecase"] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

/** A batch histogram: every served score is observed, ~10 ns each (prom-client's: ~400 ns). */
export const modelScores = new BatchHistogram({
  name: "coelho_model_scores",
  help: "Distribution of the scores served, per use case and model version.",
  labelNames: ["usecase", "model_version"] as const,
  buckets: [0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99],
  registers: [registry],
});

export const modelDecisions = new Counter({
  name: "coelho_model_decisions_total",
  help: "Decisions served at the model's threshold (flag|pass), per use case and model version.",
  labelNames: ["usecase", "model_version", "decision"] as const,
  registers: [registry],
});

export const labelOutcomes = new Counter({
  name: "coelho_label_outcomes_total",
  help: "Labelled predictions by outcome at the served threshold (tp|fp|tn|fn), per use case.",
  labelNames: ["usecase", "outcome"] as const,
  registers: [registry],
});

/** Versions whose score series a use case keeps; older ones' series are removed. */
export const SCORE_VERSIONS_MAX = 4;
const scoreVersions = new Map<string, string[]>();

/** A use case's series for one model version, resolved once (runtime/metric-series.ts). */
interface VersionScoreSeries {
  scores: HistogramSeries;
  flagged: CounterSeries;
  passed: CounterSeries;
  latency: HistogramSeries;
}
const scoreSeries = new Map<string, VersionScoreSeries>();

function scoreSeriesOf(usecase: string, model_version: string): VersionScoreSeries {
  const key = `${usecase}\u0000${model_version}`;
  let found = scoreSeries.get(key);
  if (!found) {
    found = {
      scores: modelScores.labels({ usecase, model_version }),
      flagged: counterSeries(modelDecisions, { usecase, model_version, decision: "flag" }),
      passed: counterSeries(modelDecisions, { usecase, model_version, decision: "pass" }),
      latency: eventToScoreSeconds.labels({ usecase }),
    };
    scoreSeries.set(key, found);
  }
  return found;
}

/**
 * Records one scored batch: its scores' distribution and decisions for `version`, and the
 * batch's event-to-score time (`startedMs`, from `performance.now()`). One call per batch.
 */
export function recordScores(
  usecase: string,
  version: number | string,
  scores: ArrayLike<number>,
  count: number,
  threshold: number,
  startedMs?: number,
): void {
  const model_version = String(version);
  let versions = scoreVersions.get(usecase);
  if (!versions) {
    versions = [];
    scoreVersions.set(usecase, versions);
  }
  if (!versions.includes(model_version)) {
    versions.push(model_version);
    while (versions.length > SCORE_VERSIONS_MAX) {
      const retired = versions.shift() as string;
      scoreSeries.delete(`${usecase}\u0000${retired}`);
      modelScores.remove({ usecase, model_version: retired });
      removeSeries(modelDecisions, { usecase, model_version: retired, decision: "flag" });
      removeSeries(modelDecisions, { usecase, model_version: retired, decision: "pass" });
    }
  }
  const series = scoreSeriesOf(usecase, model_version);
  const { observed: scored, above: flagged } = series.scores.observeMany(scores, count, threshold);
  series.flagged.inc(flagged);
  series.passed.inc(scored - flagged);
  if (startedMs !== undefined) {
    series.latency.observe(Math.max(0, performance.now() - startedMs) / 1000);
  }
}

export const eventsUnscored = new Counter({
  name: "coelho_events_unscored_total",
  help: "Events a scoring use case could not score, per use case and reason (no_champion: nothing to serve, the event is applied unscored; scoring_failed: the batch's scoring failed and the batch is delivered again).",
  labelNames: ["usecase", "reason"] as const,
  registers: [registry],
});
