/**
 * Drift detection benchmark (`bun bench/drift.ts`): per detector, the detection delay in events
 * after an abrupt shift, and false alarms per million events of a stationary stream, at the
 * default settings (docs/drift.md). Streams are synthetic with a daily cycle, 12 000 events a
 * simulated day (the platform's default simulator rate at a day per minute); the loss stream has a
 * fraud model's skew (1 % positives, a few confident misses).
 */
import { type DriftEvent, DriftMonitor } from "../models/drift/monitor.ts";
import { buildDriftReference } from "../models/drift/reference.ts";
import { seededRandom } from "../models/trainers/rng.ts";
import { MachineRegistry } from "../runtime/introspection/machines.ts";
import { PlatformEvents } from "../runtime/introspection/platform-events.ts";

const DAY_MS = 86_400_000;
const PER_DAY = 12_000;
const STATIONARY = Number(process.env.BENCH_EVENTS ?? 3_000_000);

function stream(seed: number) {
  const random = seededRandom(seed);
  return (t: number, shifted: boolean): [number, number] => {
    const hour = Math.floor(t / 3_600_000) % 24;
    const scale = hour < 6 ? 0.6 : 1.2;
    const amount = Math.log1p(random() * 100 * scale * (shifted ? 1.5 : 1));
    const u = random();
    // Six categories; the shift moves a fifth of the mass onto the first.
    const category = shifted && u < 0.2 ? 0 : Math.floor(random() * 6);
    return [amount, category];
  };
}

function loss(seed: number) {
  const random = seededRandom(seed);
  return (shifted: boolean): [number, 0 | 1] => {
    if (shifted && random() < 0.02) return [0.003 + random() * 0.01, 1];
    if (random() < 0.01) return [random() < 0.7 ? 0.5 + random() * 0.5 : random() * 0.2, 1];
    return [random() ** 4 * 0.3, 0];
  };
}

function monitor(events: DriftEvent[]) {
  const draw = stream(1);
  const rows = 100_000;
  const x = new Float64Array(rows * 2);
  for (let i = 0; i < rows; i++) x.set(draw(i * (DAY_MS / PER_DAY), false), i * 2);
  const m = new DriftMonitor({
    usecase: "bench",
    machines: new MachineRegistry(),
    events: new PlatformEvents(),
    onEvent: (e) => events.push(e),
  });
  m.setReference(
    buildDriftReference({
      x,
      rows,
      names: ["amount_log", "category"],
      categorical: new Set(["category"]),
    }),
  );
  return m;
}

const events: DriftEvent[] = [];
const m = monitor(events);
const draw = stream(2);
const predict = loss(3);
const batch = 500;
const rows = new Float64Array(batch * 2);
let t = 0;
let n = 0;
const run = (count: number, shifted: boolean, until?: () => boolean) => {
  for (let done = 0; done < count; done += batch) {
    for (let i = 0; i < batch; i++) {
      rows.set(draw(t, shifted), i * 2);
      const [score, label] = predict(shifted);
      m.observeLabelled(score, label, n);
      t += DAY_MS / PER_DAY;
      n++;
    }
    m.observeRows(rows, batch, 2, null, t);
    if (until?.()) return;
  }
};
const started = performance.now();
run(STATIONARY, false);
const seconds = (performance.now() - started) / 1000;
const alarms = events.filter((e) => e.state === "drift").length;
const warnings = events.filter((e) => e.state === "warning").length;
console.log(
  `drift.stationary: ${STATIONARY} events (3 detectors): ${alarms} drift alarms (${((alarms * 1e6) / STATIONARY).toFixed(2)} per million), ${warnings} warnings; ${(STATIONARY / seconds / 1e6).toFixed(2)} M events/s through the monitor`,
);
const shiftN = n;
events.length = 0;
const detected = new Map<string, number>();
run(30 * PER_DAY, true, () => {
  for (const e of events) {
    if (e.state === "drift" && !detected.has(e.detector)) detected.set(e.detector, n - shiftN);
  }
  return detected.size === 3;
});
for (const detector of ["psi", "js", "page_hinkley"]) {
  const delay = detected.get(detector);
  console.log(
    `drift.delay.${detector}: ${delay === undefined ? "not detected within 30 days" : `${delay} events (${(delay / PER_DAY).toFixed(2)} simulated days at ${PER_DAY}/day)`} after an abrupt shift`,
  );
}
m.stop();
