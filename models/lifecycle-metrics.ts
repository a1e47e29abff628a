/**
 * The model lifecycle's metrics (drift, retraining, rollout, served versions), in the platform's
 * Prometheus registry (runtime/metrics.ts). Labels are bounded: a use case, a detector kind, a
 * feature name of the use case's fixed schema, a state or outcome from a fixed list, and a model
 * version (one series per live alias; old ones are removed when an alias moves).
 */
import { Counter, Gauge, Histogram } from "prom-client";
import { registry } from "../runtime/metrics.ts";
import { topFeatures } from "./explain/importance.ts";

/** Features shown per alias in `coelho_model_feature_importance` (a schema has ~30). */
const IMPORTANCE_FEATURES_SHOWN_MAX = 64;

export const driftScore = new Gauge({
  name: "coelho_drift_score",
  help: "Latest drift score per detector and feature (PSI, Jensen-Shannon, or Page-Hinkley statistic over its threshold scale).",
  labelNames: ["usecase", "detector", "feature"] as const,
  registers: [registry],
});

export const driftState = new Gauge({
  name: "coelho_drift_state",
  help: "Drift detector state: 0 stable, 1 warning, 2 drift.",
  labelNames: ["usecase", "detector", "feature"] as const,
  registers: [registry],
});

export const driftEvents = new Counter({
  name: "coelho_drift_events_total",
  help: "Drift detector state changes, by the state entered (stable|warning|drift).",
  labelNames: ["usecase", "detector", "state"] as const,
  registers: [registry],
});

export const trainingRuns = new Counter({
  name: "coelho_training_runs_total",
  help: "Retraining runs by outcome: promoted (passed validation and became the challenger), rejected (failed validation), failed (error).",
  labelNames: ["usecase", "outcome"] as const,
  registers: [registry],
});

export const trainingDurationSeconds = new Histogram({
  name: "coelho_training_duration_seconds",
  help: "Duration of one retraining run, from trigger to result.",
  labelNames: ["usecase"] as const,
  buckets: [1, 5, 10, 30, 60, 120, 300, 600, 1800],
  registers: [registry],
});

/** The rollout machine's states, as the gauge labels them. */
export const ROLLOUT_STATES = ["idle", "shadow", "canary", "promoted", "rolled_back"] as const;
export type RolloutStateName = (typeof ROLLOUT_STATES)[number];

export const rolloutState = new Gauge({
  name: "coelho_rollout_state",
  help: "The rollout machine's state: 1 on the current state, 0 on the others.",
  labelNames: ["usecase", "state"] as const,
  registers: [registry],
});

export const modelVersionInfo = new Gauge({
  name: "coelho_model_version_info",
  help: "The model version an alias (champion|challenger) points at: 1 on that version.",
  labelNames: ["usecase", "alias", "version"] as const,
  registers: [registry],
});

/** Sets the rollout gauge: 1 on `state`, 0 on the others. */
export function setRolloutState(usecase: string, state: RolloutStateName): void {
  for (const s of ROLLOUT_STATES) rolloutState.set({ usecase, state: s }, s === state ? 1 : 0);
}

const shownVersions = new Map<string, string>();

/** Points the version-info gauge of `alias` at `version` (null: the alias is unset). */
export function setModelVersion(
  usecase: string,
  alias: "champion" | "challenger",
  version: number | null,
): void {
  const id = `${usecase}\u0000${alias}`;
  const previous = shownVersions.get(id);
  if (previous !== undefined) modelVersionInfo.remove({ usecase, alias, version: previous });
  if (version === null) {
    shownVersions.delete(id);
    return;
  }
  shownVersions.set(id, String(version));
  modelVersionInfo.set({ usecase, alias, version: String(version) }, 1);
}

export const modelFeatureImportance = new Gauge({
  name: "coelho_model_feature_importance",
  help: "What the version an alias (champion|challenger) points at relies on: each feature's mean |log-odds| added to the positives' scores on held-out rows (its importance.positive.* metrics).",
  labelNames: ["usecase", "alias", "feature"] as const,
  registers: [registry],
});

const shownImportance = new Map<string, string[]>();

/**
 * Shows what the version an alias points at relies on, from its registry metrics (null, or a
 * version without importance metrics: no series). Bounded: one series per feature of the schema.
 */
export function setModelImportance(
  usecase: string,
  alias: "champion" | "challenger",
  metrics: Readonly<Record<string, number>> | null,
): void {
  const id = `${usecase}\u0000${alias}`;
  for (const feature of shownImportance.get(id) ?? []) {
    modelFeatureImportance.remove({ usecase, alias, feature });
  }
  const features = metrics ? topFeatures(metrics, IMPORTANCE_FEATURES_SHOWN_MAX) : [];
  for (const { feature, importance } of features) {
    modelFeatureImportance.set({ usecase, alias, feature }, importance);
  }
  shownImportance.set(
    id,
    features.map((f) => f.feature),
  );
}

/**
 * Creates a use case's training and drift-event series at 0, so that dashboards and alerts read 0
 * (no run yet, no drift) instead of nothing before the first retraining or state change.
 */
export function zeroLifecycleSeries(usecase: string, detectors: readonly string[]): void {
  for (const outcome of ["promoted", "rejected", "failed"] as const) {
    trainingRuns.inc({ usecase, outcome }, 0);
  }
  trainingDurationSeconds.zero({ usecase });
  for (const detector of detectors) {
    for (const state of ["stable", "warning", "drift"] as const) {
      driftEvents.inc({ usecase, detector, state }, 0);
    }
  }
}
