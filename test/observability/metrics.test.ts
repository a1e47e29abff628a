/**
 * The metric helpers the hot paths call once per batch: scores and decisions per model version
 * (with the retired versions' series removed, so the label stays bounded), labelled outcomes and
 * fraud amounts, unscored events, and appends and produce errors per topic.
 */
import { describe, expect, test } from "bun:test";
import { Histogram, Registry } from "prom-client";
import { fraudAmount, OutcomeMetrics } from "../../models/fraud/outcome-metrics.ts";
import { BatchHistogram } from "../../runtime/batch-histogram.ts";
import {
  eventsOut,
  eventsUnscored,
  eventToScoreSeconds,
  labelOutcomes,
  modelDecisions,
  modelScores,
  produceErrors,
  produceFailed,
  recordAppended,
  recordScores,
  SCORE_VERSIONS_MAX,
} from "../../runtime/metrics.ts";

type Metric = {
  get(): Promise<{
    values: { labels: Record<string, unknown>; value: number; metricName?: string }[];
  }>;
};

/** Value of the series of `metric` whose labels include `labels` (summed), or undefined. */
async function seriesValue(metric: Metric, labels: Record<string, string>, name?: string) {
  const { values } = await metric.get();
  const found = values.filter(
    (v) =>
      (!name || v.metricName === name) &&
      Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want),
  );
  return found.length === 0 ? undefined : found.reduce((sum, v) => sum + v.value, 0);
}

describe("scores and decisions per model version", () => {
  test("one call per batch records the distribution, the decisions and the latency", async () => {
    const usecase = "metrics-test-a";
    const scores = Float32Array.from([0.05, 0.2, 0.95, 0.99, Number.NaN]);
    recordScores(usecase, 7, scores, 5, 0.9, performance.now() - 20);
    const version = { usecase, model_version: "7" };
    expect(await seriesValue(modelScores, version, "coelho_model_scores_count")).toBe(4);
    expect(await seriesValue(modelDecisions, { ...version, decision: "flag" })).toBe(2);
    expect(await seriesValue(modelDecisions, { ...version, decision: "pass" })).toBe(2);
    const latency = await seriesValue(
      eventToScoreSeconds,
      { usecase },
      "coelho_event_to_score_seconds_sum",
    );
    expect(latency).toBeGreaterThanOrEqual(0.02);
  });

  test(`only the last ${SCORE_VERSIONS_MAX} versions of a use case keep their series`, async () => {
    const usecase = "metrics-test-b";
    for (let version = 1; version <= SCORE_VERSIONS_MAX + 3; version++) {
      recordScores(usecase, version, [0.5], 1, 0.4);
    }
    const { values } = await modelDecisions.get();
    const versions = new Set(
      values.filter((v) => v.labels.usecase === usecase).map((v) => v.labels.model_version),
    );
    expect([...versions].sort()).toEqual(["4", "5", "6", "7"]);
    const scored = await modelScores.get();
    const scoredVersions = new Set(
      scored.values.filter((v) => v.labels.usecase === usecase).map((v) => v.labels.model_version),
    );
    expect(scoredVersions.size).toBe(SCORE_VERSIONS_MAX);
  });
});

describe("labelled outcomes and unscored events", () => {
  test("series exist at 0 from the start, tallies reach the counters on flush", async () => {
    const usecase = "metrics-test-c";
    const outcomes = new OutcomeMetrics(usecase);
    for (const outcome of ["tp", "fp", "tn", "fn"]) {
      expect(await seriesValue(labelOutcomes, { usecase, outcome })).toBe(0);
    }
    expect(await seriesValue(eventsUnscored, { usecase, reason: "no_champion" })).toBe(0);
    outcomes.add({ decision: "flag", amount: 120 }, 1);
    outcomes.add({ decision: "pass", amount: 80 }, 1);
    outcomes.add({ decision: "flag", amount: 10 }, 0);
    outcomes.add({ decision: "pass", amount: 5 }, 0);
    outcomes.add({ decision: "pass", amount: 7 }, 0);
    outcomes.unscored();
    expect(await seriesValue(labelOutcomes, { usecase, outcome: "tn" })).toBe(0);
    outcomes.flush();
    expect(await seriesValue(labelOutcomes, { usecase, outcome: "tp" })).toBe(1);
    expect(await seriesValue(labelOutcomes, { usecase, outcome: "fn" })).toBe(1);
    expect(await seriesValue(labelOutcomes, { usecase, outcome: "fp" })).toBe(1);
    expect(await seriesValue(labelOutcomes, { usecase, outcome: "tn" })).toBe(2);
    expect(await seriesValue(fraudAmount, { usecase, outcome: "caught" })).toBe(120);
    expect(await seriesValue(fraudAmount, { usecase, outcome: "missed" })).toBe(80);
    expect(await seriesValue(eventsUnscored, { usecase, reason: "no_champion" })).toBe(1);
    outcomes.flush(); // nothing new: no double counting
    expect(await seriesValue(labelOutcomes, { usecase, outcome: "tn" })).toBe(2);
  });

  test("a failed scoring counts its batch and rethrows", async () => {
    const usecase = "metrics-test-d";
    const outcomes = new OutcomeMetrics(usecase);
    const failure = Promise.reject(new Error("onnx failed")).catch(outcomes.scoringFailed(64));
    await expect(failure).rejects.toThrow("onnx failed");
    expect(await seriesValue(eventsUnscored, { usecase, reason: "scoring_failed" })).toBe(64);
  });
});

describe("appends per topic", () => {
  test("events out count records; produce errors start at 0 and count failures", async () => {
    const topic = "metrics-test.scores";
    recordAppended(topic, 250);
    recordAppended(topic, 6);
    expect(await seriesValue(eventsOut, { topic })).toBe(256);
    expect(await seriesValue(produceErrors, { topic })).toBe(0);
    await expect(
      Promise.reject(new Error("broker down")).catch(produceFailed(topic)),
    ).rejects.toThrow("broker down");
    expect(await seriesValue(produceErrors, { topic })).toBe(1);
  });
});

describe("batch histogram", () => {
  test("exports exactly what prom-client's histogram exports for the same values", async () => {
    const buckets = [0.1, 0.5, 0.9];
    const values = [0.05, 0.1, 0.3, 0.5, 0.7, 0.95, 2, Number.NaN];
    const ours = new Registry();
    const theirs = new Registry();
    const batch = new BatchHistogram({
      name: "x_scores",
      help: "h",
      labelNames: ["usecase"] as const,
      buckets,
      registers: [ours],
    });
    const reference = new Histogram({
      name: "x_scores",
      help: "h",
      labelNames: ["usecase"] as const,
      buckets,
      registers: [theirs],
    });
    const { observed, above } = batch.labels({ usecase: "a" }).observeMany(values, 4, 0.5);
    batch.labels({ usecase: "a" }).observeMany(values.slice(4), 4);
    for (const v of values) if (!Number.isNaN(v)) reference.observe({ usecase: "a" }, v);
    expect({ observed, above }).toEqual({ observed: 4, above: 1 });
    expect(await ours.metrics()).toBe(await theirs.metrics());
    batch.remove({ usecase: "a" });
    expect((await ours.metrics()).includes("x_scores_bucket")).toBe(false);
  });

  test("refuses buckets that do not increase", () => {
    expect(
      () =>
        new BatchHistogram({
          name: "y",
          help: "h",
          labelNames: [],
          buckets: [0.5, 0.5],
          registers: [],
        }),
    ).toThrow("buckets must increase");
  });
});
