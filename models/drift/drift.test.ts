import { describe, expect, test } from "bun:test";
import { MachineRegistry } from "../../runtime/introspection/machines.ts";
import { PlatformEvents } from "../../runtime/introspection/platform-events.ts";
import { seededRandom } from "../trainers/rng.ts";
import { jensenShannon, psi } from "./divergence.ts";
import { DriftStateMachine } from "./machine.ts";
import { type DriftEvent, DriftMonitor } from "./monitor.ts";
import { binOf, buildDriftReference } from "./reference.ts";

const HOUR_MS = 3_600_000;

describe("drift machine", () => {
  test("drift needs confirmations in a row; a lone noisy window is only a warning", () => {
    const seen: string[] = [];
    const m = new DriftStateMachine(2, (to, from) => seen.push(`${from}->${to}`));
    m.report(0.3, "drift");
    expect(m.state).toBe("warning");
    m.report(0.01, "ok");
    expect(m.state).toBe("stable");
    m.report(0.3, "drift");
    m.report(0.4, "drift");
    expect(m.state).toBe("drift");
    m.report(0.01, "ok");
    expect(m.state).toBe("drift");
    m.report(0.01, "ok");
    expect(m.state).toBe("stable");
    m.report(0.3, "drift");
    m.reset();
    expect(m.state).toBe("stable");
    expect(seen).toEqual([
      "stable->warning",
      "warning->stable",
      "stable->warning",
      "warning->drift",
      "drift->stable",
      "stable->warning",
      "warning->stable",
    ]);
    m.stop();
  });
});

describe("divergences and bins", () => {
  test("PSI and JS are zero for the same distribution and grow with a shift", () => {
    expect(psi([0.5, 0.5], [50, 50], 100)).toBeCloseTo(0, 10);
    expect(psi([0.5, 0.5], [90, 10], 100)).toBeGreaterThan(0.25);
    expect(jensenShannon([0.5, 0.5], [50, 50], 100)).toBeCloseTo(0, 10);
    expect(jensenShannon([1, 0], [0, 100], 100)).toBeCloseTo(1, 10);
    // An empty live bin gives a large finite PSI, never Infinity.
    expect(Number.isFinite(psi([0.5, 0.5], [100, 0], 100))).toBe(true);
  });

  test("bins are fixed by the reference's quantiles; NaN goes to the missing bin", () => {
    const x = Float64Array.from({ length: 1000 }, (_, i) => i);
    const ref = buildDriftReference({ x, rows: 1000, names: ["v"], bins: 4 });
    const v = ref.features[0];
    if (v?.kind !== "numeric") throw new Error("expected a numeric reference");
    expect(v.edges).toEqual([250, 500, 750]);
    expect(binOf(v.edges, 250)).toBe(0);
    expect(binOf(v.edges, 251)).toBe(1);
    expect(binOf(v.edges, 10_000)).toBe(3);
    expect(binOf(v.edges, Number.NaN)).toBe(4);
    expect(v.proportions.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
  });
});

/** A stream with a daily cycle: two features (a numeric one, a category) and a score. */
function makeStream(seed: number) {
  const rng = { next: seededRandom(seed) };
  return (timeMs: number, shifted: boolean) => {
    const hour = Math.floor(timeMs / HOUR_MS) % 24;
    const scale = hour < 6 ? 0.6 : 1.2;
    const amount = Math.log1p(rng.next() * 100 * scale * (shifted ? 3 : 1));
    const category = Math.floor(rng.next() * (shifted ? 3 : 6));
    return [amount, category];
  };
}

function referenceFor(seed: number) {
  const draw = makeStream(seed);
  const rows = 50_000;
  const x = new Float64Array(rows * 2);
  for (let i = 0; i < rows; i++) x.set(draw(i * 60_000, false), i * 2);
  return buildDriftReference({
    x,
    rows,
    names: ["amount_log", "category"],
    categorical: new Set(["category"]),
  });
}

describe("drift monitor", () => {
  test("a million stationary events raise no alarm; an abrupt shift is found within three windows", () => {
    const machines = new MachineRegistry();
    const bus = new PlatformEvents();
    const events: DriftEvent[] = [];
    const published: string[] = [];
    bus.subscribe((e) => published.push(`${e.type}:${e.usecase}`));
    const monitor = new DriftMonitor({
      usecase: "synthetic",
      machines,
      events: bus,
      onEvent: (e) => events.push(e),
      window: { windowMs: 86_400_000, windowEventsMin: 2000 },
    });
    monitor.setReference(referenceFor(1));
    const draw = makeStream(2);
    // 12 000 events a simulated day (the platform's default simulator rate at a day per minute).
    const gapMs = 86_400_000 / 12_000;
    const batch = 500;
    const rows = new Float64Array(batch * 2);
    let t = 0;
    const run = (events_: number, shifted: boolean) => {
      for (let done = 0; done < events_; done += batch) {
        for (let i = 0; i < batch; i++) {
          rows.set(draw(t, shifted), i * 2);
          t += gapMs;
        }
        monitor.observeRows(rows, batch, 2, null, t);
      }
    };
    run(1_000_000, false);
    expect(events.filter((e) => e.state === "drift")).toEqual([]);
    const shiftAt = t;
    run(100_000, true);
    const drifted = events.filter((e) => e.state === "drift");
    expect(drifted.map((e) => e.feature).sort()).toEqual(["amount_log", "category"]);
    const delayDays = ((drifted[0]?.eventTimeMs ?? 0) - shiftAt) / 86_400_000;
    console.log(`drift found ${delayDays.toFixed(2)} simulated days after the shift`);
    // The shift lands inside a window: that one is part-shifted, the next two confirm.
    expect(delayDays).toBeLessThanOrEqual(3.01);
    const listed = machines.list({ kind: "drift-detector", usecase: "synthetic" });
    expect(listed.map((m) => m.name)).toEqual([
      "synthetic/js/category",
      "synthetic/page_hinkley/loss",
      "synthetic/psi/amount_log",
    ]);
    expect(listed.find((m) => m.name === "synthetic/psi/amount_log")?.state).toBe("drift");
    expect(published).toContain("drift:synthetic");
    expect(monitor.state).toBe("drift");
    monitor.reset();
    expect(monitor.state).toBe("stable");
    monitor.stop();
    expect(machines.list()).toEqual([]);
  });

  test("Page-Hinkley: a million stationary labelled predictions raise no alarm; a new missed fraud pattern does", () => {
    const rng = { next: seededRandom(5) };
    const events: DriftEvent[] = [];
    const monitor = new DriftMonitor({
      usecase: "loss",
      machines: new MachineRegistry(),
      events: new PlatformEvents(),
      onEvent: (e) => events.push(e),
    });
    // A fraud model's skewed losses: 1 % fraud, mostly scored high, some missed.
    const predict = (newPattern: boolean): [number, 0 | 1] => {
      if (newPattern && rng.next() < 0.02) return [0.003 + rng.next() * 0.01, 1];
      if (rng.next() < 0.01)
        return [rng.next() < 0.7 ? 0.5 + rng.next() * 0.5 : rng.next() * 0.2, 1];
      return [rng.next() ** 4 * 0.3, 0];
    };
    for (let i = 0; i < 1_000_000; i++) {
      const [score, label] = predict(false);
      monitor.observeLabelled(score, label, i);
    }
    expect(events.filter((e) => e.state === "drift")).toEqual([]);
    let detectedAt = -1;
    for (let i = 0; i < 50_000 && detectedAt < 0; i++) {
      const [score, label] = predict(true);
      monitor.observeLabelled(score, label, i);
      if (events.some((e) => e.state === "drift")) detectedAt = i;
    }
    console.log(`Page-Hinkley found the new pattern after ${detectedAt} labelled examples`);
    expect(detectedAt).toBeGreaterThan(0);
    monitor.stop();
  });
});
