/**
 * Inference actor benchmark (`bun bench/inference-actor.ts`), on a 150-tree GBT (depth 6) over 33
 * features, one intra-op thread as in the platform:
 *
 * - raw `scoreBatch` cost per row at batch 1 and 256 (the floor the actor works against);
 * - throughput under saturating load: `score()` with thousands of requests outstanding, and
 *   `scoreMany()` of 500-row shard batches from one shard and from four concurrent ones;
 * - latency from `score()` to its result at a steady offered load of 10 000 rows/s, open loop
 *   (arrivals are scheduled by the clock, never by earlier results), for waitMaxMs 0 and 1.
 *   Also measured from each arrival's scheduled time, which includes any lag of the producer.
 */
import { createInferenceActor, type InferenceActor } from "../actors/inference/index.ts";
import { exportOnnx } from "../models/onnx/export.ts";
import { loadOnnx, type OnnxScorer, scoreBatch } from "../models/onnx/session.ts";
import { trainGbt } from "../models/trainers/gbt.ts";
import { syntheticBinary } from "../models/trainers/synthetic.ts";
import { silentLogger } from "../runtime/logger.ts";
import { quantile } from "./support/stats.ts";

const COLS = 33;
const TREES = 150;
const EVAL_ROWS = 20_000;
const SATURATE_MS = 3_000;
const OFFERED_ROWS_PER_S = 10_000;
const OPEN_LOOP_MS = 5_000;
const WARMUP_MS = 500;

const ds = syntheticBinary({ rows: 50_000, cols: COLS, seed: 1, missingRate: 0.02 });
const model = trainGbt(ds, { rounds: TREES, maxDepth: 6 });
const bytes = exportOnnx(model);
const x = Float32Array.from(syntheticBinary({ rows: EVAL_ROWS, cols: COLS, seed: 2 }).x);
const row = (i: number) => x.subarray((i % EVAL_ROWS) * COLS, ((i % EVAL_ROWS) + 1) * COLS);
const load = () => loadOnnx(bytes, { featureNames: model.featureNames });
console.log(`model: gbt ${model.trees.length} trees depth 6, ${COLS} features`);

// ---- raw scoreBatch ----------------------------------------------------------------------------

async function rawPerRowUs(scorer: OnnxScorer, batch: number, calls: number): Promise<number> {
  const batches = Math.floor(EVAL_ROWS / batch);
  const at = (i: number) =>
    x.subarray((i % batches) * batch * COLS, ((i % batches) + 1) * batch * COLS);
  for (let i = 0; i < 200; i++) await scoreBatch(scorer, at(i), batch, COLS);
  const times = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await scoreBatch(scorer, at(i), batch, COLS);
    times[i] = (performance.now() - t) * 1000;
  }
  times.sort();
  return quantile(times, 0.5) / batch;
}

const raw = await load();
const raw1 = await rawPerRowUs(raw, 1, 20_000);
const raw256 = await rawPerRowUs(raw, 256, 2_000);
console.log(
  `raw scoreBatch per row (p50 of calls): batch 1 ${raw1.toFixed(2)} µs (${Math.round(1e6 / raw1)} rows/s), batch 256 ${raw256.toFixed(2)} µs (${Math.round(1e6 / raw256)} rows/s)`,
);

// ---- the actor ---------------------------------------------------------------------------------

async function newActor(waitMaxMs: number): Promise<InferenceActor> {
  const actor = createInferenceActor({
    name: `bench-inference-${waitMaxMs}`,
    usecase: "bench",
    featureCount: COLS,
    batchMax: 256,
    waitMaxMs,
    mailbox: { capacity: 10_000, overflow: "backpressure" },
    maxPendingSenders: 100_000,
    logger: silentLogger,
  });
  actor.setChampion({ version: "1", scorer: await load() });
  await actor.start();
  return actor;
}

/** Rows/s with `window` score() calls outstanding at all times, and the mean batch size. */
async function saturateScore(window: number): Promise<[number, number]> {
  const actor = await newActor(1);
  let done = 0;
  let issued = 0;
  const endMs = performance.now() + SATURATE_MS;
  const startBatches = actor.batches;
  const startMs = performance.now();
  await new Promise<void>((finish) => {
    let outstanding = 0;
    const next = (): void => {
      done++;
      outstanding--;
      if (performance.now() < endMs) issue();
      else if (outstanding === 0) finish();
    };
    const issue = (): void => {
      outstanding++;
      actor.score(row(issued++)).then(next);
    };
    for (let i = 0; i < window; i++) issue();
  });
  const seconds = (performance.now() - startMs) / 1000;
  const batches = actor.batches - startBatches;
  await actor.dispose(1_000);
  return [done / seconds, done / batches];
}

/** Rows/s of `shards` concurrent loops each awaiting scoreMany of `rows` rows. */
async function saturateMany(shards: number, rows: number): Promise<number> {
  const actor = await newActor(1);
  let done = 0;
  const endMs = performance.now() + SATURATE_MS;
  const startMs = performance.now();
  const shard = async (s: number) => {
    for (let k = s; performance.now() < endMs; k += shards) {
      const first = (k * rows) % (EVAL_ROWS - rows);
      await actor.scoreMany(x.subarray(first * COLS, (first + rows) * COLS), rows);
      done += rows;
    }
  };
  await Promise.all(Array.from({ length: shards }, (_, s) => shard(s)));
  const rate = done / ((performance.now() - startMs) / 1000);
  await actor.dispose(1_000);
  return rate;
}

/** Open loop: arrivals at `rate` rows/s by the clock; latency percentiles in µs. */
async function openLoop(waitMaxMs: number) {
  const actor = await newActor(waitMaxMs);
  const total = Math.round(((WARMUP_MS + OPEN_LOOP_MS) / 1000) * OFFERED_ROWS_PER_S);
  const warm = Math.round((WARMUP_MS / 1000) * OFFERED_ROWS_PER_S);
  const fromCall = new Float64Array(total - warm);
  const fromArrival = new Float64Array(total - warm);
  const gapMs = 1000 / OFFERED_ROWS_PER_S;
  let issued = 0;
  let resolved = 0;
  const startBatches = actor.batches;
  const t0 = performance.now();
  await new Promise<void>((finish) => {
    const tick = (): void => {
      const now = performance.now();
      const due = Math.min(total, Math.floor((now - t0) / gapMs) + 1);
      while (issued < due) {
        const i = issued++;
        const scheduledMs = t0 + i * gapMs;
        const calledMs = performance.now();
        actor.score(row(i)).then(() => {
          const endMs = performance.now();
          if (i >= warm) {
            fromCall[i - warm] = (endMs - calledMs) * 1000;
            fromArrival[i - warm] = (endMs - scheduledMs) * 1000;
          }
          if (++resolved === total) finish();
        });
      }
      if (issued < total) setImmediate(tick);
    };
    tick();
  });
  const seconds = (performance.now() - t0) / 1000;
  const batches = actor.batches - startBatches;
  await actor.dispose(1_000);
  fromCall.sort();
  fromArrival.sort();
  const q = (a: Float64Array) =>
    `p50 ${quantile(a, 0.5).toFixed(0)} µs, p99 ${quantile(a, 0.99).toFixed(0)} µs, p99.9 ${quantile(a, 0.999).toFixed(0)} µs`;
  console.log(
    `open loop ${OFFERED_ROWS_PER_S} rows/s, waitMaxMs ${waitMaxMs}: score() → result ${q(fromCall)}; from scheduled arrival ${q(fromArrival)}; achieved ${Math.round(total / seconds)} rows/s, mean batch ${(total / batches).toFixed(1)} rows`,
  );
}

for (const window of [1_024, 8_192]) {
  const [rate, meanBatch] = await saturateScore(window);
  console.log(
    `saturating score(), ${window} outstanding: ${Math.round(rate)} rows/s (${(1e6 / rate).toFixed(2)} µs/row), mean batch ${meanBatch.toFixed(1)} rows`,
  );
}
for (const shards of [1, 4]) {
  const manyRate = await saturateMany(shards, 500);
  console.log(
    `saturating scoreMany(500) from ${shards} shard(s): ${Math.round(manyRate)} rows/s (${(1e6 / manyRate).toFixed(2)} µs/row)`,
  );
}
await openLoop(0);
await openLoop(1);
