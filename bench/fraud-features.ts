/**
 * Card-fraud feature benchmarks (`bun bench/fraud-features.ts`).
 *
 * - Heap bytes per card state (target ≤ 1 KB): 100k cards folded from simulated history, measured
 *   after `Bun.gc(true)`, without and with the Map entry and key a shard adds.
 * - Throughput: transactions decoded per second, features + pure update per second (the shard's
 *   per-event work), features alone, and state checkpoint encode/decode per second.
 */
import {
  applyTransaction,
  type CardState,
  initialCardState,
  updateCardState,
} from "../models/fraud/card-state.ts";
import { buildFeatureSchema, computeFeatures } from "../models/fraud/features.ts";
import { parseTransaction, type Transaction } from "../models/fraud/schema.ts";
import { FraudSimulation } from "../models/fraud/simulator/simulation.ts";
import { decodeCardState, encodeCardState } from "../models/fraud/state-codec.ts";

const CARDS = Number(process.env.BENCH_FRAUD_CARDS ?? 100_000);
const EVENTS = Number(process.env.BENCH_FRAUD_EVENTS ?? 1_000_000);

function heapBytes(): number {
  // Twice: the first collection can leave objects that only die once finalizers ran.
  Bun.gc(true);
  Bun.gc(true);
  return process.memoryUsage().heapUsed;
}

function rate(n: number, ms: number): string {
  const perSecond = (n * 1000) / ms;
  return perSecond >= 1e6
    ? `${(perSecond / 1e6).toFixed(2)}M/s`
    : `${(perSecond / 1e3).toFixed(0)}k/s`;
}

/** Simulated history: every card returns, with its habits and the occasional fraud episode. */
function simulate(): Uint8Array[] {
  const started = performance.now();
  const simulation = new FraudSimulation({ seed: 1, cards: CARDS, labels: false });
  const records: Uint8Array[] = [];
  while (simulation.stats.transactions < EVENTS) {
    const item = simulation.next();
    if (item.kind === "transaction") records.push(item.record.value);
  }
  console.log(
    `simulate            ${rate(EVENTS, performance.now() - started)} (${EVENTS} transactions, ${CARDS} cards)`,
  );
  return records;
}

function decode(records: Uint8Array[]): Transaction[] {
  const started = performance.now();
  const events = records.map((bytes) => parseTransaction(bytes));
  console.log(`decode              ${rate(events.length, performance.now() - started)}`);
  return events;
}

/**
 * Folds the history in place (no garbage from copies) into the Map a shard would hold, keyed by
 * fresh strings as a shard's keys are; then subtracts the cost of the Map and keys alone, measured
 * with the same keys and one shared value.
 */
function heapPerState(events: Transaction[]): void {
  const freshKey = (key: string) => Buffer.from(key).toString();
  let before = heapBytes();
  let states: Map<string, CardState> | null = new Map();
  for (const tx of events) {
    const key = tx.card_id ?? tx.user_id;
    let state = states.get(key);
    if (!state) {
      state = initialCardState();
      states.set(freshKey(key), state);
    }
    applyTransaction(state, tx);
  }
  const cards = states.size;
  const withMap = (heapBytes() - before) / cards;
  const keys = [...states.keys()].map(freshKey);
  states = null;
  before = heapBytes();
  const shared = initialCardState();
  const keysOnly = new Map(keys.map((key) => [freshKey(key), shared]));
  const mapAndKey = (heapBytes() - before) / keysOnly.size;
  console.log(
    `heap per card state ${(withMap - mapAndKey).toFixed(0)} B (${withMap.toFixed(0)} B with its Map entry and key; ${cards} cards, ${(events.length / cards).toFixed(1)} transactions each on average; target <= 1024 B)`,
  );
}

function throughput(events: Transaction[]): void {
  const schema = buildFeatureSchema({ encoding: "onehot" });
  const out = new Float64Array(schema.names.length);
  // The shard's per-event work: features from the state before, then the update in place (what
  // the shard runs) or the pure update, which copies the state first (what replay runs).
  let states = new Map<string, CardState>();
  let started = performance.now();
  for (const tx of events) {
    const key = tx.card_id ?? tx.user_id;
    const before = states.get(key);
    computeFeatures(before ?? initialCardState(), tx, schema, out);
    if (before) applyTransaction(before, tx);
    else states.set(key, applyTransaction(initialCardState(), tx));
  }
  console.log(
    `features + update   ${rate(events.length, performance.now() - started)} (${schema.names.length} columns, one-hot; in place, as the shard)`,
  );
  states = new Map<string, CardState>();
  started = performance.now();
  for (const tx of events) {
    const key = tx.card_id ?? tx.user_id;
    const before = states.get(key) ?? initialCardState();
    computeFeatures(before, tx, schema, out);
    states.set(key, updateCardState(before, tx));
  }
  console.log(
    `features + pure update ${rate(events.length, performance.now() - started)} (copying each state, as replay)`,
  );

  started = performance.now();
  let checksum = 0;
  for (const tx of events) {
    const state = states.get(tx.card_id ?? tx.user_id) ?? initialCardState();
    checksum += computeFeatures(state, tx, schema, out)[0] ?? 0;
  }
  console.log(
    `features only       ${rate(events.length, performance.now() - started)} (checksum ${checksum.toFixed(0)})`,
  );

  const sample = [...states.values()].slice(0, 50_000);
  started = performance.now();
  // Each encoding copied out, as the shard copies it into its checkpoint.
  const encoded = sample.map((state) => encodeCardState(state).slice());
  const encodeMs = performance.now() - started;
  started = performance.now();
  for (const bytes of encoded) decodeCardState(bytes);
  const decodeMs = performance.now() - started;
  const bytes = encoded.reduce((sum, b) => sum + b.length, 0) / encoded.length;
  console.log(
    `state codec         encode ${rate(encoded.length, encodeMs)}, decode ${rate(encoded.length, decodeMs)}, ${bytes.toFixed(0)} bytes per state`,
  );
}

const events = decode(simulate());
heapPerState(events);
throughput(events);
