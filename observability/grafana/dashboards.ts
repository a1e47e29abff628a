/**
 * The platform's Grafana dashboards, as data: system health (RED/USE), streaming, model
 * performance, data quality, business, SLOs, and the model lifecycle (drift, retraining,
 * rollout). `bun observability/grafana/build.ts` writes them to `dashboards/<uid>.json`.
 *
 * Every query is run by the end-to-end test (test/observability/prometheus-e2e.test.ts) against a
 * real Prometheus scraping the real platform, and must return data: a panel on a metric the
 * platform does not export fails it. Rates use `$__rate_interval`; `$usecase` filters by use case.
 */
import type { DashboardSpec } from "./panels.ts";

const TAGS = ["coelho-realtime"];
const UC = 'usecase=~"$usecase"';
const JOB = 'job=~".*coelho-realtime.*"';

export const systemHealth: DashboardSpec = {
  uid: "coelho-system-health",
  title: "coelho-realtime / System health",
  description:
    "RED per actor kind (rate, errors, duration) and USE per resource (mailboxes, entities, checkpoints, event loop, CPU, memory), per instance.",
  tags: [...TAGS, "runtime"],
  panels: [
    {
      title: "Instances up",
      description: "Scrape targets of the platform that answer (up == 1) out of all of them.",
      type: "stat",
      w: 6,
      h: 5,
      queries: [
        { expr: `sum(up{${JOB}})`, legend: "up" },
        { expr: `count(up{${JOB}})`, legend: "targets" },
      ],
    },
    {
      title: "Supervisor escalations (range)",
      description:
        "Times a supervisor exceeded its restart intensity and failed to its parent in the range. Alert: SupervisorEscalated.",
      type: "stat",
      w: 6,
      h: 5,
      thresholds: [{ value: 1, color: "red" }],
      queries: [
        {
          expr: "sum(increase(coelho_supervisor_escalations_total[$__range]))",
          legend: "escalations",
        },
      ],
    },
    {
      title: "Event-loop delay p99",
      description:
        "How late the platform's own 100 ms timer runs (prom-client's built-in reads 0 on Bun). Alert: EventLoopDelayHigh at 100 ms.",
      unit: "s",
      w: 12,
      h: 5,
      queries: [
        {
          expr: "histogram_quantile(0.99, sum by (instance, le) (rate(coelho_event_loop_delay_seconds_bucket[$__rate_interval])))",
          legend: "{{instance}}",
        },
      ],
    },
    {
      title: "Messages processed per second, by actor kind (rate)",
      description: "Messages actors processed.",
      unit: "reqps",
      queries: [
        {
          expr: "sum by (kind) (rate(coelho_actor_messages_total[$__rate_interval]))",
          legend: "{{kind}}",
        },
      ],
    },
    {
      title: "Message failures per second, by kind and error (errors)",
      description:
        "validation: the message was refused (a reply); failure: the actor crashed and its supervisor decided.",
      unit: "reqps",
      queries: [
        {
          expr: "sum by (kind, error) (rate(coelho_actor_failures_total[$__rate_interval]))",
          legend: "{{kind}} {{error}}",
        },
      ],
    },
    {
      title: "Processing time p99, by actor kind (duration)",
      description: "Time to process one message (sampled on the synchronous hot path).",
      unit: "s",
      queries: [
        {
          expr: "histogram_quantile(0.99, sum by (kind, le) (rate(coelho_actor_processing_seconds_bucket[$__rate_interval])))",
          legend: "{{kind}}",
        },
      ],
    },
    {
      title: "Mailbox utilisation, by actor kind (saturation)",
      description:
        "Messages waiting over mailbox capacity. Over 0.8 for 5 minutes: MailboxSaturated.",
      unit: "percentunit",
      min: 0,
      max: 1,
      thresholds: [{ value: 0.8, color: "red" }],
      queries: [
        {
          expr: "sum by (instance, kind) (coelho_actor_mailbox_depth) / sum by (instance, kind) (coelho_actor_mailbox_capacity)",
          legend: "{{instance}} {{kind}}",
        },
      ],
    },
    {
      title: "Supervisor restarts",
      description:
        "Child restarts per supervisor in each interval. Over 3 in 10 minutes: SupervisorRestarting.",
      queries: [
        {
          expr: "sum by (supervisor) (increase(coelho_supervisor_restarts_total[$__rate_interval]))",
          legend: "{{supervisor}}",
        },
      ],
    },
    {
      title: "Entities in memory, by use case",
      description:
        "Entities held by the shards (bounded by COELHO_MAX_ENTITIES_PER_SHARD per shard).",
      queries: [{ expr: "sum by (usecase) (coelho_entities_active)", legend: "{{usecase}}" }],
    },
    {
      title: "Entities passivated per second, by reason",
      description:
        "idle: evicted after COELHO_ENTITY_IDLE_MS; limit: evicted because the shard was full.",
      unit: "reqps",
      queries: [
        {
          expr: "sum by (usecase, reason) (rate(coelho_entities_passivated_total[$__rate_interval]))",
          legend: "{{usecase}} {{reason}}",
        },
      ],
    },
    {
      title: "Checkpoint time p99, by use case",
      description:
        "Time to write one shard checkpoint (dirty states and their offset, one SQLite transaction).",
      unit: "s",
      queries: [
        {
          expr: "histogram_quantile(0.99, sum by (usecase, le) (rate(coelho_checkpoint_seconds_bucket[$__rate_interval])))",
          legend: "{{usecase}}",
        },
      ],
    },
    {
      title: "Events not yet checkpointed, by use case",
      description:
        "Events applied to state but not yet in a checkpoint: what a crash would replay.",
      queries: [{ expr: "sum by (usecase) (coelho_checkpoint_lag_events)", legend: "{{usecase}}" }],
    },
    {
      title: "CPU, by instance",
      description: "CPU seconds per second used by the process (1 = one core).",
      unit: "percentunit",
      queries: [
        {
          expr: "sum by (instance) (rate(coelho_process_process_cpu_seconds_total[$__rate_interval]))",
          legend: "{{instance}}",
        },
      ],
    },
    {
      title: "Resident memory, by instance",
      description: "Resident set size of the process.",
      unit: "bytes",
      queries: [
        {
          expr: "sum by (instance) (coelho_process_process_resident_memory_bytes)",
          legend: "{{instance}}",
        },
      ],
    },
    {
      title: "Data volume available, by instance (saturation)",
      description:
        "Share of the data folder's filesystem still available (checkpoints, registry, embedded log). DataVolumeFillingUp fires under 10%.",
      unit: "percentunit",
      queries: [
        {
          expr: "min by (instance) (coelho_data_volume_available_bytes / coelho_data_volume_size_bytes)",
          legend: "{{instance}}",
        },
      ],
    },
    {
      title: "Embedded log size, by topic",
      description:
        "Bytes the embedded log holds per topic; each partition of a topic that is not compacted keeps at most COELHO_LOG_RETENTION_MB plus its active segment. Empty on Kafka.",
      unit: "bytes",
      queries: [{ expr: "sum by (topic) (coelho_log_bytes)", legend: "{{topic}}" }],
    },
  ],
};

export const streaming: DashboardSpec = {
  uid: "coelho-streaming",
  title: "coelho-realtime / Streaming",
  description:
    "Throughput in and out per topic, consumer lag per partition, partitions owned, rebalances, produce errors and event-to-score latency.",
  tags: [...TAGS, "streaming"],
  panels: [
    {
      title: "Events in per second, by topic",
      description: "Records read from input topics (valid and dead-lettered).",
      unit: "reqps",
      queries: [
        {
          expr: "sum by (topic) (rate(coelho_events_in_total[$__rate_interval]))",
          legend: "{{topic}}",
        },
      ],
    },
    {
      title: "Events out per second, by topic",
      description:
        "Records the platform appended: scores, examples, dead letters, re-keyed events.",
      unit: "reqps",
      queries: [
        {
          expr: "sum by (topic) (rate(coelho_events_out_total[$__rate_interval]))",
          legend: "{{topic}}",
        },
      ],
    },
    {
      title: "Consumer lag, by topic and partition",
      description:
        "Records not yet delivered to the consumer (end offset minus position, after each batch). Over 10k per topic for 10 minutes: ConsumerLagHigh.",
      queries: [
        {
          expr: "sum by (topic, partition) (coelho_consumer_lag_records)",
          legend: "{{topic}}/{{partition}}",
        },
      ],
    },
    {
      title: "Partitions owned, by instance and topic",
      description: "Partitions each instance consumes (one lag series per owned partition).",
      stack: true,
      queries: [
        {
          expr: "count by (instance, topic) (coelho_consumer_lag_records)",
          legend: "{{instance}} {{topic}}",
        },
      ],
    },
    {
      title: "Rebalances, by consumer group",
      description: "Assignments received (the first join counts) in each interval.",
      queries: [
        {
          expr: "sum by (group) (increase(coelho_consumer_rebalances_total[$__rate_interval]))",
          legend: "{{group}}",
        },
      ],
    },
    {
      title: "Produce errors per second, by topic",
      description:
        "Appends that failed (the shard delivers the batch again). Alert: ProduceErrors.",
      unit: "reqps",
      queries: [
        {
          expr: "sum by (topic) (rate(coelho_produce_errors_total[$__rate_interval]))",
          legend: "{{topic}}",
        },
      ],
    },
    {
      title: "Event-to-score latency",
      description:
        "From a shard taking an event's batch to the score written (one observation per batch).",
      unit: "s",
      w: 24,
      queries: [
        {
          expr: "histogram_quantile(0.5, sum by (usecase, le) (rate(coelho_event_to_score_seconds_bucket[$__rate_interval])))",
          legend: "{{usecase}} p50",
        },
        {
          expr: "histogram_quantile(0.99, sum by (usecase, le) (rate(coelho_event_to_score_seconds_bucket[$__rate_interval])))",
          legend: "{{usecase}} p99",
        },
      ],
    },
  ],
};

export const modelPerformance: DashboardSpec = {
  uid: "coelho-model-performance",
  title: "coelho-realtime / Model performance",
  description:
    "Online quality over time (on labelled predictions), score distribution, decisions, champion versus challenger, inference latency and errors.",
  tags: [...TAGS, "models"],
  usecaseFrom: "coelho_model_decisions_total",
  panels: [
    {
      title: "Online quality, by model version and metric",
      description:
        "PR-AUC, ROC-AUC, precision, recall and F2 over the most recent labelled predictions of each version. PR-AUC under 0.5 for 30 minutes: ModelQualityDegraded.",
      unit: "percentunit",
      min: 0,
      max: 1,
      w: 24,
      queries: [
        {
          expr: `max by (usecase, model_version, metric) (coelho_model_quality{${UC}})`,
          legend: "{{usecase}} v{{model_version}} {{metric}}",
        },
      ],
    },
    {
      title: "Score distribution",
      description: "Scores served per second, by score bucket (all versions).",
      type: "heatmap",
      queries: [
        {
          expr: `sum by (le) (rate(coelho_model_scores_bucket{${UC}}[$__rate_interval]))`,
          legend: "{{le}}",
          format: "heatmap",
        },
      ],
    },
    {
      title: "Decisions per second, by model version",
      description: "flag: the score reached the version's threshold; pass: it did not.",
      unit: "reqps",
      queries: [
        {
          expr: `sum by (usecase, model_version, decision) (rate(coelho_model_decisions_total{${UC}}[$__rate_interval]))`,
          legend: "{{usecase}} v{{model_version}} {{decision}}",
        },
      ],
    },
    {
      title: "What the flags are made of: first reasons",
      description:
        "Share of sampled flags (5 a second per instance) by their first reason: the feature that added most to the score's log-odds (docs/explanations.md). A new fraud pattern, or a model leaning on one feature, changes the mix.",
      unit: "percentunit",
      min: 0,
      max: 1,
      stack: true,
      queries: [
        {
          expr: `sum by (usecase, feature) (rate(coelho_flag_reasons_total{${UC}}[$__rate_interval])) / ignoring(feature) group_left sum by (usecase) (rate(coelho_flag_reasons_total{${UC}}[$__rate_interval]))`,
          legend: "{{usecase}} {{feature}}",
        },
      ],
    },
    {
      title: "What the served models rely on",
      description:
        "Each feature's mean |log-odds| added to the frauds' scores on held-out rows, for the champion and, during a rollout, the challenger (their importance.positive.* registry metrics, docs/explanations.md). A challenger that leans on other features than the champion shows here before it decides anything.",
      type: "bargauge",
      queries: [
        {
          expr: `sort_desc(max by (usecase, alias, feature) (coelho_model_feature_importance{${UC}}))`,
          legend: "{{usecase}} {{alias}} {{feature}}",
          instant: true,
        },
      ],
    },
    {
      title: "Rows scored per second: champion versus challenger",
      description: "The challenger scores in shadow the same rows as the champion.",
      unit: "reqps",
      queries: [
        {
          expr: `sum by (usecase, model_version, role) (rate(coelho_inference_rows_total{${UC}}[$__rate_interval]))`,
          legend: "{{usecase}} v{{model_version}} {{role}}",
        },
      ],
    },
    {
      title: "Scoring batch time p99: champion versus challenger",
      description: "One onnxruntime call on a batch, per version and role.",
      unit: "s",
      queries: [
        {
          expr: `histogram_quantile(0.99, sum by (usecase, model_version, role, le) (rate(coelho_inference_batch_seconds_bucket{${UC}}[$__rate_interval])))`,
          legend: "{{usecase}} v{{model_version}} {{role}}",
        },
      ],
    },
    {
      title: "Inference latency p99 and batch size",
      description: "Request to result (queueing, batching wait, scoring), and mean rows per batch.",
      unit: "s",
      queries: [
        {
          expr: `histogram_quantile(0.99, sum by (usecase, le) (rate(coelho_inference_latency_seconds_bucket{${UC}}[$__rate_interval])))`,
          legend: "{{usecase}} latency p99",
        },
      ],
    },
    {
      title: "Mean rows per scoring batch",
      description: "Rows per onnxruntime call: micro-batching at work.",
      queries: [
        {
          expr: `sum by (usecase) (rate(coelho_inference_batch_rows_sum{${UC}}[$__rate_interval])) / sum by (usecase) (rate(coelho_inference_batch_rows_count{${UC}}[$__rate_interval]))`,
          legend: "{{usecase}}",
        },
      ],
    },
    {
      title: "Inference errors per second, by reason",
      description: "batch_failed, queue_full, no_champion, abandoned, challenger_failed...",
      unit: "reqps",
      queries: [
        {
          expr: `sum by (usecase, reason) (rate(coelho_inference_errors_total{${UC}}[$__rate_interval]))`,
          legend: "{{usecase}} {{reason}}",
        },
      ],
    },
    {
      title: "Labels per second: matched, unmatched and unscored",
      description:
        "matched: joined to a stored prediction (feeds quality and training); unscored: its transaction was applied before any champion (a first start's history); unmatched: no prediction held otherwise.",
      unit: "reqps",
      queries: [
        {
          expr: `sum by (usecase, outcome) (rate(coelho_labels_total{${UC}}[$__rate_interval]))`,
          legend: "{{usecase}} {{outcome}}",
        },
      ],
    },
    {
      title: "Label delay p50 and p90",
      description: "Event-time delay from a transaction to its label.",
      unit: "s",
      queries: [
        {
          expr: `histogram_quantile(0.5, sum by (usecase, le) (rate(coelho_label_delay_seconds_bucket{${UC}}[$__rate_interval])))`,
          legend: "{{usecase}} p50",
        },
        {
          expr: `histogram_quantile(0.9, sum by (usecase, le) (rate(coelho_label_delay_seconds_bucket{${UC}}[$__rate_interval])))`,
          legend: "{{usecase}} p90",
        },
      ],
    },
    {
      title: "Labelled predictions in the quality window",
      description: "How many labels the online quality figures rest on, per version.",
      queries: [
        {
          expr: `sum by (usecase, model_version) (coelho_model_quality_window_labels{${UC}})`,
          legend: "{{usecase}} v{{model_version}}",
        },
      ],
    },
    {
      title: "Training examples written per second",
      description:
        "Features at prediction time joined to their label, written to the examples topic.",
      unit: "reqps",
      queries: [
        {
          expr: `sum by (usecase) (rate(coelho_training_examples_total{${UC}}[$__rate_interval]))`,
          legend: "{{usecase}}",
        },
      ],
    },
  ],
};

export const dataQuality: DashboardSpec = {
  uid: "coelho-data-quality",
  title: "coelho-realtime / Data quality",
  description:
    "Dead letters by topic and reason, the share of events dead-lettered, events left unscored, and labels that found no prediction. Drift is on the model lifecycle dashboard.",
  tags: [...TAGS, "data-quality"],
  panels: [
    {
      title: "Dead letters per second, by topic and reason",
      description:
        "Events that failed validation, sent to <topic>.dlq with the original bytes and the reason in headers.",
      unit: "reqps",
      queries: [
        {
          expr: "sum by (topic, reason) (rate(coelho_dlq_events_total[$__rate_interval]))",
          legend: "{{topic}} {{reason}}",
        },
      ],
    },
    {
      title: "Share of events dead-lettered, by topic",
      description: "Dead letters over events read. Over 1% for 10 minutes: DeadLetterRateHigh.",
      unit: "percentunit",
      thresholds: [{ value: 0.01, color: "red" }],
      queries: [
        {
          expr: "sum by (topic) (rate(coelho_dlq_events_total[$__rate_interval])) / sum by (topic) (rate(coelho_events_in_total[$__rate_interval]))",
          legend: "{{topic}}",
        },
      ],
    },
    {
      title: "Events left unscored per second, by reason",
      description:
        "no_champion: applied to state, not scored; scoring_failed: the batch is delivered again.",
      unit: "reqps",
      queries: [
        {
          expr: "sum by (usecase, reason) (rate(coelho_events_unscored_total[$__rate_interval]))",
          legend: "{{usecase}} {{reason}}",
        },
      ],
    },
    {
      title: "Share of labels with no stored prediction",
      description:
        "Unmatched labels over all labels: predictions evicted before their label, or never scored.",
      unit: "percentunit",
      queries: [
        {
          expr: 'sum by (usecase) (rate(coelho_labels_total{outcome="unmatched"}[$__rate_interval])) / sum by (usecase) (rate(coelho_labels_total[$__rate_interval]))',
          legend: "{{usecase}}",
        },
      ],
    },
    {
      title: "Predictions awaiting their label",
      description: "Stored predictions per use case (bounded per shard by count and age).",
      queries: [{ expr: "sum by (usecase) (coelho_predictions_stored)", legend: "{{usecase}}" }],
    },
    {
      title: "Their journal in the checkpoints",
      description:
        "Bytes of the predictions' journal a restore would replay (per shard: at most about three times its store; docs/fraud.md), and the snapshots written when it outgrew that.",
      unit: "bytes",
      queries: [
        { expr: "sum by (usecase) (coelho_prediction_journal_bytes)", legend: "{{usecase}}" },
      ],
    },
  ],
};

export const business: DashboardSpec = {
  uid: "coelho-business",
  title: "coelho-realtime / Business (fraud)",
  description:
    "What the fraud model does for the business: fraud amount caught and missed, the false-alarm rate among flagged transactions, and the review load.",
  tags: [...TAGS, "business"],
  usecaseFrom: "coelho_fraud_amount_total",
  panels: [
    {
      title: "Fraud amount caught and missed (range)",
      description:
        "Amount of labelled fraud the model flagged (caught) or passed (missed) in the selected range.",
      type: "stat",
      unit: "currencyUSD",
      queries: [
        {
          expr: `sum by (outcome) (increase(coelho_fraud_amount_total{${UC}}[$__range]))`,
          legend: "{{outcome}}",
        },
      ],
    },
    {
      title: "Share of fraud amount caught",
      description: "Caught over caught plus missed, on labelled fraud.",
      unit: "percentunit",
      min: 0,
      max: 1,
      queries: [
        {
          expr: `sum by (usecase) (increase(coelho_fraud_amount_total{${UC}, outcome="caught"}[$__rate_interval])) / sum by (usecase) (increase(coelho_fraud_amount_total{${UC}}[$__rate_interval]))`,
          legend: "{{usecase}}",
        },
      ],
    },
    {
      title: "False-alarm rate",
      description:
        "Labelled flagged transactions that were genuine (false positives over all flagged).",
      unit: "percentunit",
      min: 0,
      max: 1,
      queries: [
        {
          expr: `sum by (usecase) (increase(coelho_label_outcomes_total{${UC}, outcome="fp"}[$__rate_interval])) / sum by (usecase) (increase(coelho_label_outcomes_total{${UC}, outcome=~"tp|fp"}[$__rate_interval]))`,
          legend: "{{usecase}}",
        },
      ],
    },
    {
      title: "Review load: transactions flagged per minute",
      description: "Each flagged transaction is a case for the review team.",
      unit: "short",
      queries: [
        {
          expr: `60 * sum by (usecase) (rate(coelho_model_decisions_total{${UC}, decision="flag"}[$__rate_interval]))`,
          legend: "{{usecase}}",
        },
      ],
    },
    {
      title: "Share of transactions flagged",
      description: "Flagged over all scored transactions.",
      unit: "percentunit",
      queries: [
        {
          expr: `sum by (usecase) (rate(coelho_model_decisions_total{${UC}, decision="flag"}[$__rate_interval])) / sum by (usecase) (rate(coelho_model_decisions_total{${UC}}[$__rate_interval]))`,
          legend: "{{usecase}}",
        },
      ],
    },
    {
      title: "Labelled outcomes per second",
      description: "tp: fraud flagged; fp: genuine flagged; fn: fraud passed; tn: genuine passed.",
      unit: "reqps",
      stack: true,
      queries: [
        {
          expr: `sum by (outcome) (rate(coelho_label_outcomes_total{${UC}}[$__rate_interval]))`,
          legend: "{{outcome}}",
        },
      ],
    },
  ],
};

export const slo: DashboardSpec = {
  uid: "coelho-slo",
  title: "coelho-realtime / SLOs",
  description:
    "Scoring latency (99% of batches within 0.5 s) and scoring availability (99.9% of events scored): error budget left over 30 days and burn rates over the alert windows (recording rules in observability/prometheus/slo.rules.yml).",
  tags: [...TAGS, "slo"],
  panels: [
    {
      title: "Latency error budget left (30 days)",
      description: "1 = untouched, 0 = spent.",
      type: "stat",
      unit: "percentunit",
      w: 6,
      queries: [{ expr: "coelho:scoring_latency:error_budget_remaining", legend: "{{usecase}}" }],
    },
    {
      title: "Availability error budget left (30 days)",
      description: "1 = untouched, 0 = spent.",
      type: "stat",
      unit: "percentunit",
      w: 6,
      queries: [
        { expr: "coelho:scoring_availability:error_budget_remaining", legend: "{{usecase}}" },
      ],
    },
    {
      title: "Event-to-score p99",
      description: "The latency SLO's threshold is 0.5 s.",
      unit: "s",
      thresholds: [{ value: 0.5, color: "red" }],
      queries: [{ expr: "coelho:event_to_score_seconds:p99_rate5m", legend: "{{usecase}}" }],
    },
    {
      title: "Latency burn rate",
      description:
        "Budget burn over each window (1 = exactly on budget). Pages at 14.4 over 1h and 5m, tickets at 6 over 6h and 30m.",
      thresholds: [
        { value: 6, color: "orange" },
        { value: 14.4, color: "red" },
      ],
      queries: [
        { expr: "coelho:event_to_score_slow:ratio_rate5m / 0.01", legend: "{{usecase}} 5m" },
        { expr: "coelho:event_to_score_slow:ratio_rate30m / 0.01", legend: "{{usecase}} 30m" },
        { expr: "coelho:event_to_score_slow:ratio_rate1h / 0.01", legend: "{{usecase}} 1h" },
        { expr: "coelho:event_to_score_slow:ratio_rate6h / 0.01", legend: "{{usecase}} 6h" },
      ],
    },
    {
      title: "Availability burn rate",
      description:
        "Budget burn over each window (1 = exactly on budget). Pages at 14.4 over 1h and 5m, tickets at 6 over 6h and 30m.",
      thresholds: [
        { value: 6, color: "orange" },
        { value: 14.4, color: "red" },
      ],
      queries: [
        { expr: "coelho:scoring_errors:ratio_rate5m / 0.001", legend: "{{usecase}} 5m" },
        { expr: "coelho:scoring_errors:ratio_rate30m / 0.001", legend: "{{usecase}} 30m" },
        { expr: "coelho:scoring_errors:ratio_rate1h / 0.001", legend: "{{usecase}} 1h" },
        { expr: "coelho:scoring_errors:ratio_rate6h / 0.001", legend: "{{usecase}} 6h" },
      ],
    },
    {
      title: "SLIs: share of good events",
      description: "Batches within 0.5 s, and events scored, over 5 minutes.",
      unit: "percentunit",
      w: 24,
      queries: [
        { expr: "1 - coelho:event_to_score_slow:ratio_rate5m", legend: "{{usecase}} latency" },
        { expr: "1 - coelho:scoring_errors:ratio_rate5m", legend: "{{usecase}} availability" },
      ],
    },
  ],
};

export const lifecycle: DashboardSpec = {
  uid: "coelho-model-lifecycle",
  title: "coelho-realtime / Drift and model lifecycle",
  description:
    "Drift scores and states per detector and feature, retraining runs and their duration, rollout state and the versions serving as champion and challenger (models/lifecycle-metrics.ts).",
  tags: [...TAGS, "models", "drift"],
  usecaseFrom: "coelho_model_version_info",
  panels: [
    {
      title: "Drift score, by detector and feature",
      description:
        "Latest drift statistic of each detector (PSI, Jensen-Shannon, Page-Hinkley...).",
      w: 24,
      queries: [
        {
          expr: `max by (usecase, detector, feature) (coelho_drift_score{${UC}})`,
          legend: "{{usecase}} {{detector}} {{feature}}",
        },
      ],
    },
    {
      title: "Drift state, by detector and feature",
      description: "0 stable, 1 warning, 2 drift. In drift for 10 minutes: DriftConfirmed.",
      thresholds: [
        { value: 1, color: "orange" },
        { value: 2, color: "red" },
      ],
      queries: [
        {
          expr: `max by (usecase, detector, feature) (coelho_drift_state{${UC}})`,
          legend: "{{usecase}} {{detector}} {{feature}}",
        },
      ],
    },
    {
      title: "Drift state changes, by state entered",
      description: "Detector transitions into stable, warning or drift in each interval.",
      queries: [
        {
          expr: `sum by (usecase, detector, state) (increase(coelho_drift_events_total{${UC}}[$__rate_interval]))`,
          legend: "{{usecase}} {{detector}} {{state}}",
        },
      ],
    },
    {
      title: "Retraining runs, by outcome (range)",
      description:
        "promoted: became the challenger; rejected: failed validation; failed: an error. Two failures in 6 hours: RetrainingFailing.",
      type: "stat",
      queries: [
        {
          expr: `sum by (outcome) (increase(coelho_training_runs_total{${UC}}[$__range]))`,
          legend: "{{outcome}}",
        },
      ],
    },
    {
      title: "Retraining duration p50 and p95",
      description: "From trigger to result.",
      unit: "s",
      queries: [
        {
          expr: `histogram_quantile(0.5, sum by (usecase, le) (rate(coelho_training_duration_seconds_bucket{${UC}}[$__range])))`,
          legend: "{{usecase}} p50",
        },
        {
          expr: `histogram_quantile(0.95, sum by (usecase, le) (rate(coelho_training_duration_seconds_bucket{${UC}}[$__range])))`,
          legend: "{{usecase}} p95",
        },
      ],
    },
    {
      title: "Rollout state",
      description:
        "The rollout machine's current state (idle, shadow, canary, promoted, rolled_back).",
      queries: [
        {
          expr: `max by (usecase, state) (coelho_rollout_state{${UC}}) == 1`,
          legend: "{{usecase}} {{state}}",
        },
      ],
    },
    {
      title: "Serving versions: champion and challenger",
      description: "The model version behind each alias. No champion: NoChampion.",
      type: "table",
      queries: [
        {
          expr: `max by (usecase, alias, version) (coelho_model_version_info{${UC}})`,
          format: "table",
          instant: true,
        },
      ],
    },
  ],
};

export const dashboards: DashboardSpec[] = [
  systemHealth,
  streaming,
  modelPerformance,
  dataQuality,
  business,
  slo,
  lifecycle,
];
