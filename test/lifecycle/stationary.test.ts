/**
 * Calibration on real traffic: one million events drawn at random (with replacement) from ten days
 * of the simulator's scored and labelled transactions, a stationary stream with the real
 * distributions (skewed amounts, discrete counts, category codes, a fraud model's scores and
 * losses), raise no drift alarm at the default settings.
 *
 * Why draw rather than run the simulator for 200 days: its world is not stationary over months.
 * Card histories mature (a card has seen more categories, its amount spread settles), and a model
 * trained on the first weeks loses accuracy; run for a million events the detectors do see that
 * (see docs/drift.md), which is a real change of the world, not a false alarm.
 */
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { DriftMonitor } from "../../models/drift/monitor.ts";
import { fraudDriftReference } from "../../models/fraud/lifecycle.ts";
import { seededRandom } from "../../models/trainers/rng.ts";
import { MachineRegistry } from "../../runtime/introspection/machines.ts";
import { PlatformEvents } from "../../runtime/introspection/platform-events.ts";
import { DAY_MS, LifecycleHarness } from "./harness.ts";

setDefaultTimeout(300_000);

const harness = new LifecycleHarness({
  seed: 23,
  cards: 2000,
  historyDays: 20,
  lifecycle: { triggers: { onDrift: false } },
});

afterAll(() => harness.stop());

test("one million stationary events: no drift alarm at default settings", async () => {
  await harness.start();
  await harness.runUntil(harness.clockMs + 12 * DAY_MS, { eventsPerSecond: 1e9, batch: 1000 });
  const pool = harness.examples;
  const cols = pool[0]?.features.length ?? 0;
  const x = new Float64Array(pool.length * cols);
  pool.forEach((e, i) => {
    x.set(
      e.features.map((v) => v ?? Number.NaN),
      i * cols,
    );
  });
  const names = harness.watcher.serving()?.info.featureSchema.names ?? [];
  const reference = fraudDriftReference(
    x,
    pool.length,
    names,
    pool.map((e) => e.score),
  );
  const monitor = new DriftMonitor({
    usecase: "stationary",
    machines: new MachineRegistry(),
    events: new PlatformEvents(),
  });
  monitor.setReference(reference);
  const random = seededRandom(99);
  // The simulator's rate: 2000 cards make ~5200 transactions a simulated day.
  const gapMs = DAY_MS / 5200;
  const batch = 500;
  const rows = new Float32Array(batch * cols);
  const scores = new Float32Array(batch);
  let t = 0;
  for (let done = 0; done < 1_000_000; done += batch) {
    for (let i = 0; i < batch; i++) {
      const e = pool[Math.floor(random() * pool.length)] ?? pool[0];
      if (!e) throw new Error("no examples were collected");
      for (let c = 0; c < cols; c++) rows[i * cols + c] = e.features[c] ?? Number.NaN;
      scores[i] = e.score;
      t += gapMs;
      monitor.observeLabelled(e.score, e.label, t);
    }
    monitor.observeRows(rows, batch, cols, scores, t);
  }
  const report = monitor.report();
  console.log(
    `1 000 000 events drawn from ${pool.length} labelled transactions (${reference.features.length} features + score + loss): ${monitor.counts.warning} warnings, ${monitor.counts.drift} drift alarms; highest: ${report
      .sort((a, b) => b.score / b.threshold - a.score / a.threshold)
      .slice(0, 3)
      .map((r) => `${r.detector}/${r.feature} ${r.score.toFixed(3)} (drift at ${r.threshold})`)
      .join(", ")}`,
  );
  expect(monitor.counts.drift).toBe(0);
  monitor.stop();
});
