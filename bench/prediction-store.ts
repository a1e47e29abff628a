/**
 * Memory of the predictions a fraud shard keeps for their labels (`bun run bench --
 * prediction-store`): for 200k predictions of 31 features, the growth of JSC's heap (typed arrays'
 * storage included) and the heap objects the collector has to trace, per prediction, for the store
 * (`models/fraud/prediction-store.ts`: columns of typed arrays and a typed-array hash table) and, as
 * the baseline, a Map of one object and one feature array per prediction (how the store held them
 * before). Each layout is measured in a fresh child process, after `Bun.gc(true)`, so that pages
 * freed by one are not reused by the other; also the time to put them.
 *
 * Then the store's journal (`models/fraud/prediction-journal.ts`, how predictions survive a
 * restart): the time to put with the journal written, cut every 10,000 puts as checkpoints cut
 * it; its bytes per prediction; and the time a restore takes to replay the whole of it.
 */
import { heapStats } from "bun:jsc";
import { PredictionJournal } from "../models/fraud/prediction-journal.ts";
import { PredictionStore, type StoredPrediction } from "../models/fraud/prediction-store.ts";
import type { JournalEntry } from "../runtime/shard/entity-model.ts";

const COUNT = Number(process.env.BENCH_PREDICTIONS ?? 200_000);
const FEATURES = 31;

interface Measured {
  bytes: number;
  objects: number;
  putMicros: number;
}

function footprint(): { heap: number; objects: number } {
  // Twice: the first collection can leave objects that only die once finalizers ran.
  Bun.gc(true);
  Bun.gc(true);
  return { heap: process.memoryUsage().heapUsed, objects: heapStats().objectCount };
}

function fields(ids: string[], cards: string[], i: number) {
  return {
    transaction_id: ids[i] as string,
    card_id: cards[i % cards.length] as string,
    score: (i % 100) / 100,
    decision: i % 100 >= 50 ? ("flag" as const) : ("pass" as const),
    threshold: 0.5,
    model_version: 1,
    featureSchemaVersion: 1,
    amount: i % 1000,
    eventTimeMs: 1_700_000_000_000 + i,
  };
}

/** The inputs both layouts store, built apart so that nothing of their making stays on the stack. */
function inputs(): { ids: string[]; cards: string[]; rows: Float32Array } {
  // Flat strings, as JSON.parse gives them (a template literal would be a rope, flattened and its
  // parts freed during the measurement); held by both layouts' callers alike.
  const ids = JSON.parse(
    JSON.stringify(
      Array.from({ length: COUNT }, (_, i) => `tx-${i.toString(16).padStart(12, "0")}-a`),
    ),
  ) as string[];
  const cards = JSON.parse(
    JSON.stringify(Array.from({ length: 50_000 }, (_, i) => `card-${i}`)),
  ) as string[];
  const rows = new Float32Array(COUNT * FEATURES);
  for (let i = 0; i < rows.length; i++) rows[i] = (i % 97) / 97;
  return { ids, cards, rows };
}

/** Stores COUNT predictions in one layout; what it cost. Runs in a child process. */
async function measure(layout: "store" | "map"): Promise<Measured> {
  const { ids, cards, rows } = inputs();
  // A later turn of the event loop: JSC scans the stack conservatively, and a stale slot would
  // keep the inputs' garbage alive through the first measurement.
  await Bun.sleep(10);
  const before = footprint();
  const started = performance.now();
  const map = new Map<string, StoredPrediction>();
  const store = new PredictionStore({ maxCount: COUNT });
  for (let i = 0; i < COUNT; i++) {
    if (layout === "store") {
      store.put(fields(ids, cards, i), rows, i * FEATURES, FEATURES);
    } else {
      const f = fields(ids, cards, i);
      map.set(f.transaction_id, { ...f, features: rows.slice(i * FEATURES, (i + 1) * FEATURES) });
    }
  }
  const putMicros = ((performance.now() - started) * 1000) / COUNT;
  await Bun.sleep(10);
  const after = footprint();
  if (store.size + map.size !== COUNT) throw new Error("not every prediction was stored");
  return {
    bytes: (after.heap - before.heap) / COUNT,
    objects: (after.objects - before.objects) / COUNT,
    putMicros,
  };
}

/** Puts with the journal written and cut every 10k puts; then a restore of it all. */
function measureJournal(): {
  putMicros: number;
  bytes: number;
  restoreMs: number;
  snapshotMs: number;
} {
  const { ids, cards, rows } = inputs();
  const journal = new PredictionJournal();
  const store = new PredictionStore({ maxCount: COUNT, ops: journal.ops });
  const entries: JournalEntry[] = [];
  const started = performance.now();
  for (let i = 0; i < COUNT; i++) {
    store.put(fields(ids, cards, i), rows, i * FEATURES, FEATURES);
    if ((i + 1) % 10_000 === 0) {
      const entry = journal.cut(store, new Uint8Array());
      while ((entries[0]?.seq ?? entry.seq) < entry.keepFrom) entries.shift();
      entries.push(entry);
    }
  }
  const putMicros = ((performance.now() - started) * 1000) / COUNT;
  const bytes = entries.reduce((n, e) => n + e.bytes.length, 0) / COUNT;
  const restoring = performance.now();
  const restored = new PredictionStore({ maxCount: COUNT });
  new PredictionJournal().restore(restored, entries);
  const restoreMs = performance.now() - restoring;
  if (restored.size !== COUNT) throw new Error(`restored ${restored.size} of ${COUNT}`);
  // A snapshot of the full store (written when the journal outgrows its bound), as a journal
  // whose bound is one entry writes it: the event loop's pause, the second time (buffers grown).
  const snapshotting = new PredictionJournal(1, 1);
  const full = new PredictionStore({ maxCount: COUNT, ops: snapshotting.ops });
  new PredictionJournal().restore(full, entries);
  snapshotting.cut(full, new Uint8Array()); // the first entry: nothing to compact yet
  snapshotting.cut(full, new Uint8Array());
  const snapshotStarted = performance.now();
  snapshotting.cut(full, new Uint8Array());
  const snapshotMs = performance.now() - snapshotStarted;
  if (snapshotting.snapshots !== 2) throw new Error("the snapshots were not written");
  return { putMicros, bytes, restoreMs, snapshotMs };
}

async function child(layout: "store" | "map"): Promise<Measured> {
  const proc = Bun.spawn(["bun", import.meta.path, layout], { stdout: "pipe", stderr: "inherit" });
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  if (code !== 0) throw new Error(`${layout}: exit ${code}`);
  return JSON.parse(out) as Measured;
}

const layout = process.argv[2];
if (layout === "store" || layout === "map") {
  console.log(JSON.stringify(await measure(layout)));
} else {
  const store = await child("store");
  const map = await child("map");
  console.log(
    `prediction store, ${COUNT} predictions of ${FEATURES} features: ${store.bytes.toFixed(0)} B and ${store.objects.toFixed(1)} heap objects a prediction; a Map of objects and feature arrays: ${map.bytes.toFixed(0)} B and ${map.objects.toFixed(1)} objects (ratio ${(store.bytes / map.bytes).toFixed(2)}); put ${store.putMicros.toFixed(2)} µs a prediction (Map ${map.putMicros.toFixed(2)} µs)`,
  );
  const journaled = measureJournal();
  console.log(
    `with its journal (restarts keep the predictions): put ${journaled.putMicros.toFixed(2)} µs a prediction, cut every 10k; ${journaled.bytes.toFixed(0)} B of journal a prediction; a restore replays all ${COUNT} in ${journaled.restoreMs.toFixed(0)} ms; a snapshot of them takes the event loop ${journaled.snapshotMs.toFixed(0)} ms`,
  );
}
