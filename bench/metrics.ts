/**
 * What recording metrics costs the hot path, per served score and per scrape.
 *
 * `bun bench/metrics.ts` prints one line per figure: the serving path's per-batch calls (scores
 * and decisions per model version, labelled outcomes), prom-client's own histogram `observe` for
 * comparison, and the time to render /metrics with a realistic set of series.
 */
import { Histogram, Registry } from "prom-client";
import { OutcomeMetrics } from "../models/fraud/outcome-metrics.ts";
import { recordAppended, recordScores, registry } from "../runtime/metrics.ts";

const ROWS = 256;
const BATCHES = 20_000;
const scores = Float32Array.from({ length: ROWS }, (_, i) => ((i * 37) % 100) / 100);

function timeIt(what: string, per: number, unit: string, run: () => void): void {
  for (let i = 0; i < BATCHES / 10; i++) run(); // warm-up
  const start = performance.now();
  for (let i = 0; i < BATCHES; i++) run();
  const ms = performance.now() - start;
  console.log(`${what}: ${((ms * 1e6) / (BATCHES * per)).toFixed(1)} ns per ${unit}`);
}

timeIt(`recordScores (${ROWS}-row batches)`, ROWS, "score", () =>
  recordScores("bench", 3, scores, ROWS, 0.5, performance.now()),
);

const reference = new Histogram({
  name: "bench_reference_scores",
  help: "prom-client's histogram, for comparison",
  labelNames: ["usecase", "model_version"] as const,
  buckets: [0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99],
  registers: [new Registry()],
});
timeIt("prom-client Histogram.observe, for comparison", ROWS, "score", () => {
  const child = reference.labels({ usecase: "bench", model_version: "3" });
  for (let i = 0; i < ROWS; i++) child.observe(scores[i] as number);
});

const outcomes = new OutcomeMetrics("bench");
const prediction = { decision: "flag" as const, amount: 12.5 };
timeIt(`OutcomeMetrics add + flush per ${ROWS}`, ROWS, "label", () => {
  for (let i = 0; i < ROWS; i++) outcomes.add(prediction, (i & 1) as 0 | 1);
  outcomes.flush();
});

timeIt("recordAppended (one call per append)", 1, "append", () =>
  recordAppended("bench.scores", ROWS),
);

const scrapes = 200;
const start = performance.now();
let bytes = 0;
for (let i = 0; i < scrapes; i++) bytes = (await registry.metrics()).length;
const series = (await registry.metrics()).split("\n").filter((l) => l && !l.startsWith("#")).length;
console.log(
  `render /metrics: ${((performance.now() - start) / scrapes).toFixed(2)} ms per scrape (${series} series, ${bytes} bytes; this process's registry)`,
);
