/**
 * Memory of the predictions a fraud shard keeps for their labels (`bun run bench --
 * prediction-store`): bytes per stored prediction with 31 features, for the column store
 * (`models/fraud/prediction-store.ts`) and, as the baseline in the same process, a Map of one
 * object and one feature array per prediction (how the store held them before). Measured after
 * `Bun.gc(true)` as the growth of the JS heap plus the memory outside it (typed arrays' storage);
 * also the objects the collector has to trace, and the time to put them.
 */
import { heapStats } from "bun:jsc";
import { PredictionStore, type StoredPrediction } from "../models/fraud/prediction-store.ts";

const COUNT = Number(process.env.BENCH_PREDICTIONS ?? 200_000);
const FEATURES = 31;

function footprint(): { bytes: number; objects: number } {
  // Twice: the first collection can leave objects that only die once finalizers ran.
  Bun.gc(true);
  Bun.gc(true);
  const memory = process.memoryUsage();
  return { bytes: memory.heapUsed + memory.external, objects: heapStats().objectCount };
}

/** The ids and rows both layouts store: fresh strings, as JSON.parse gives them. */
function inputs(): { ids: string[]; cards: string[]; rows: Float32Array } {
  const ids = Array.from({ length: COUNT }, (_, i) => `tx-${i.toString(16).padStart(12, "0")}-a`);
  const cards = Array.from({ length: COUNT }, (_, i) => `card-${i % 50_000}`);
  const rows = new Float32Array(COUNT * FEATURES);
  for (let i = 0; i < rows.length; i++) rows[i] = (i % 97) / 97;
  return { ids, cards, rows };
}

function fields(ids: string[], cards: string[], i: number) {
  return {
    transaction_id: ids[i] as string,
    card_id: cards[i] as string,
    score: (i % 100) / 100,
    decision: i % 100 >= 50 ? ("flag" as const) : ("pass" as const),
    threshold: 0.5,
    model_version: 1,
    featureSchemaVersion: 1,
    amount: i % 1000,
    eventTimeMs: 1_700_000_000_000 + i,
  };
}

const { ids, cards, rows } = inputs();

const beforeMap = footprint();
let started = performance.now();
const map = new Map<string, StoredPrediction>();
for (let i = 0; i < COUNT; i++) {
  map.set(ids[i] as string, {
    ...fields(ids, cards, i),
    features: rows.slice(i * FEATURES, (i + 1) * FEATURES),
  });
}
const mapMs = performance.now() - started;
const afterMap = footprint();
const mapBytes = (afterMap.bytes - beforeMap.bytes) / COUNT;
const mapObjects = (afterMap.objects - beforeMap.objects) / COUNT;
map.clear();

const beforeStore = footprint();
started = performance.now();
const store = new PredictionStore({ maxCount: COUNT });
for (let i = 0; i < COUNT; i++) store.put(fields(ids, cards, i), rows, i * FEATURES, FEATURES);
const storeMs = performance.now() - started;
const afterStore = footprint();
const storeBytes = (afterStore.bytes - beforeStore.bytes) / COUNT;
const storeObjects = (afterStore.objects - beforeStore.objects) / COUNT;
if (store.size !== COUNT) throw new Error(`stored ${store.size} of ${COUNT}`);

console.log(
  `prediction store, ${COUNT} predictions of ${FEATURES} features: ${storeBytes.toFixed(0)} B and ${storeObjects.toFixed(1)} heap objects a prediction (a Map of objects and feature arrays: ${mapBytes.toFixed(0)} B, ${mapObjects.toFixed(1)} objects; ratio ${(storeBytes / mapBytes).toFixed(2)}); put ${((storeMs * 1000) / COUNT).toFixed(2)} µs a prediction (Map of objects ${((mapMs * 1000) / COUNT).toFixed(2)} µs)`,
);
