/**
 * The dashboard's overview, computed about once a second from the process's own Prometheus
 * metrics (no scrape, no PromQL): events/s, event-to-score latency p50/p99 over the last
 * interval, consumer lag, and which instance owns which partitions.
 *
 * Rates and quantiles are differences between two readings of counters and histogram buckets,
 * so they describe the interval since the previous summary, not the process's whole life.
 */
import type { Metric } from "prom-client";
import { registry } from "../../../runtime/metrics.ts";
import type { Platform } from "../../platform.ts";
import type { MetricsSummary } from "./metrics-summary-shape.ts";

export type { MetricsSummary } from "./metrics-summary-shape.ts";

/** A reading of one metric: label set (as a string) → value, and histogram buckets by label set. */
interface Reading {
  atMs: number;
  counters: Map<string, number>;
  buckets: Map<string, Map<number, number>>;
}

type MetricValue = { labels: Record<string, string | number>; value: number; metricName?: string };

async function values(name: string): Promise<MetricValue[]> {
  const metric = registry.getSingleMetric(name) as Metric | undefined;
  if (!metric) return [];
  return (await metric.get()).values as MetricValue[];
}

function labelOf(labels: Record<string, string | number>, name: string): string {
  return String(labels[name] ?? "");
}

/** Quantile `q` of the observations between two cumulative bucket readings (linear in a bucket). */
export function bucketQuantile(
  now: Map<number, number>,
  before: Map<number, number> | undefined,
  q: number,
): number | null {
  const bounds = [...now.keys()].sort((a, b) => a - b);
  const counts = bounds.map((b) => (now.get(b) ?? 0) - (before?.get(b) ?? 0));
  const total = counts[counts.length - 1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (let i = 0; i < bounds.length; i++) {
    const upper = bounds[i] as number;
    const count = counts[i] as number;
    if (count >= rank) {
      if (!Number.isFinite(upper)) return lower; // the +Inf bucket: its lower bound is all we know
      const inBucket = count - below;
      return inBucket > 0 ? lower + ((upper - lower) * (rank - below)) / inBucket : upper;
    }
    lower = Number.isFinite(upper) ? upper : lower;
    below = count;
  }
  return lower;
}

export class MetricsSummarizer {
  private previous: Reading | null = null;

  constructor(private readonly platform: Platform) {}

  private async read(): Promise<Reading> {
    const counters = new Map<string, number>();
    for (const v of await values("coelho_events_in_total")) {
      counters.set("in", (counters.get("in") ?? 0) + v.value);
    }
    for (const v of await values("coelho_inference_rows_total")) {
      if (labelOf(v.labels, "role") !== "champion") continue;
      const id = `scored\u0000${labelOf(v.labels, "usecase")}`;
      counters.set(id, (counters.get(id) ?? 0) + v.value);
    }
    const buckets = new Map<string, Map<number, number>>();
    for (const v of await values("coelho_event_to_score_seconds")) {
      if (v.metricName !== "coelho_event_to_score_seconds_bucket") continue;
      const usecase = labelOf(v.labels, "usecase");
      const le = v.labels.le === "+Inf" ? Number.POSITIVE_INFINITY : Number(v.labels.le);
      let map = buckets.get(usecase);
      if (!map) {
        map = new Map();
        buckets.set(usecase, map);
      }
      map.set(le, v.value);
    }
    return { atMs: Date.now(), counters, buckets };
  }

  async summary(): Promise<MetricsSummary> {
    const now = await this.read();
    const before = this.previous;
    this.previous = now;
    const seconds = before ? Math.max(0.001, (now.atMs - before.atMs) / 1000) : 1;
    const rate = (id: string) =>
      before
        ? Math.max(0, ((now.counters.get(id) ?? 0) - (before.counters.get(id) ?? 0)) / seconds)
        : 0;
    const platform = this.platform;
    const scoresPerSecond: Record<string, number> = {};
    const latencyMs: MetricsSummary["latencyMs"] = {};
    const champions: Record<string, number | null> = {};
    const quality: Record<string, unknown> = {};
    for (const usecase of platform.useCaseNames()) {
      const scoring = platform.scoring(usecase);
      if (!scoring) continue;
      scoresPerSecond[usecase] = Math.round(rate(`scored\u0000${usecase}`) * 10) / 10;
      const buckets = now.buckets.get(usecase);
      const previous = before?.buckets.get(usecase);
      const ms = (q: number) => {
        const s = buckets && before ? bucketQuantile(buckets, previous, q) : null;
        return s === null ? null : Math.round(s * 1e5) / 100;
      };
      latencyMs[usecase] = { p50: ms(0.5), p99: ms(0.99) };
      champions[usecase] = scoring.champion()?.version ?? null;
      const q = platform.quality(usecase);
      if (q !== null) quality[usecase] = q;
    }
    const consumerLag: Record<string, number> = {};
    for (const v of await values("coelho_consumer_lag_records")) {
      const topic = labelOf(v.labels, "topic");
      consumerLag[topic] = (consumerLag[topic] ?? 0) + v.value;
    }
    return {
      atMs: now.atMs,
      instance: platform.config.instanceId,
      eventsPerSecond: Math.round(rate("in") * 10) / 10,
      scoresPerSecond,
      latencyMs,
      consumerLag,
      instances: platform.membership.claims().map((c) => ({
        instanceId: c.instanceId,
        url: c.url,
        partitions: c.assignments,
      })),
      champions,
      quality,
    };
  }
}
