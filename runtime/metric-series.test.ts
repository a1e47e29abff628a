import { describe, expect, test } from "bun:test";
import { Counter, Gauge, Registry } from "prom-client";
import { counterSeries, gaugeSeries, removeSeries } from "./metric-series.ts";

function metrics() {
  const registry = new Registry();
  const counter = new Counter({
    name: "series_test_total",
    help: "test",
    labelNames: ["topic"] as const,
    registers: [registry],
  });
  let ownCollects = 0;
  const gauge = new Gauge({
    name: "series_test_gauge",
    help: "test",
    labelNames: ["shard"] as const,
    registers: [registry],
    collect() {
      ownCollects++;
    },
  });
  return { registry, counter, gauge, ownCollects: () => ownCollects };
}

async function seriesValue(
  metric: { get(): Promise<{ values: { labels: object; value: number }[] }> },
  labels: Record<string, string>,
): Promise<number | undefined> {
  const { values } = await metric.get();
  return values.find((v) =>
    Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want),
  )?.value;
}

describe("metric series", () => {
  test("a counter series exists at 0, counts in a number and hands it over once per read", async () => {
    const { counter } = metrics();
    const series = counterSeries(counter, { topic: "a" });
    expect(await seriesValue(counter, { topic: "a" })).toBe(0);
    series.inc(3);
    series.inc();
    expect(await seriesValue(counter, { topic: "a" })).toBe(4);
    // Read again with nothing new: no double counting.
    expect(await seriesValue(counter, { topic: "a" })).toBe(4);
    series.inc(2);
    expect(await seriesValue(counter, { topic: "a" })).toBe(6);
  });

  test("one series per label values, shared by whoever asks", async () => {
    const { counter } = metrics();
    const first = counterSeries(counter, { topic: "b" });
    const again = counterSeries(counter, { topic: "b" });
    expect(again).toBe(first);
    first.inc(1);
    again.inc(1);
    expect(await seriesValue(counter, { topic: "b" })).toBe(2);
  });

  test("a gauge series keeps the last value; the metric's own collect still runs", async () => {
    const { gauge, ownCollects } = metrics();
    const series = gaugeSeries(gauge, { shard: "0" });
    series.set(5);
    series.set(7);
    expect(await seriesValue(gauge, { shard: "0" })).toBe(7);
    expect(ownCollects()).toBe(1);
  });

  test("the scrape's text format carries what the series hold", async () => {
    const { registry, counter, gauge } = metrics();
    counterSeries(counter, { topic: "c" }).inc(9);
    gaugeSeries(gauge, { shard: "1" }).set(42);
    const text = await registry.metrics();
    expect(text).toContain('series_test_total{topic="c"} 9');
    expect(text).toContain('series_test_gauge{shard="1"} 42');
  });

  test("a removed series is gone, and a later one with the same labels starts anew", async () => {
    const { gauge, counter } = metrics();
    gaugeSeries(gauge, { shard: "2" }).set(3);
    expect(await seriesValue(gauge, { shard: "2" })).toBe(3);
    gaugeSeries(gauge, { shard: "2" }).set(4); // pending, never handed over
    removeSeries(gauge, { shard: "2" });
    expect(await seriesValue(gauge, { shard: "2" })).toBeUndefined();
    gaugeSeries(gauge, { shard: "2" }).set(1);
    expect(await seriesValue(gauge, { shard: "2" })).toBe(1);

    counterSeries(counter, { topic: "d" }).inc(5);
    removeSeries(counter, { topic: "d" });
    expect(await seriesValue(counter, { topic: "d" })).toBeUndefined();
    counterSeries(counter, { topic: "d" }).inc(1);
    expect(await seriesValue(counter, { topic: "d" })).toBe(1);
  });
});
