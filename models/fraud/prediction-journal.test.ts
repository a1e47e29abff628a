import { describe, expect, test } from "bun:test";
import type { JournalAppend, JournalEntry } from "../../runtime/shard/entity-model.ts";
import { seededRandom } from "../trainers/rng.ts";
import { PredictionJournal } from "./prediction-journal.ts";
import { type PredictionFields, PredictionStore } from "./prediction-store.ts";

const WIDTH = 5;

function fields(id: string, eventTimeMs: number, score: number): PredictionFields {
  return {
    transaction_id: id,
    card_id: `card-${id}`,
    score,
    decision: score >= 0.5 ? "flag" : "pass",
    threshold: 0.5,
    model_version: 3,
    featureSchemaVersion: 2,
    amount: eventTimeMs / 7,
    eventTimeMs,
  };
}

function row(id: string, eventTimeMs: number): Float32Array {
  const values = new Float32Array(WIDTH);
  for (let k = 0; k < WIDTH; k++) values[k] = id.length * 10 + k + eventTimeMs / 1000;
  return values;
}

/** The journal table of a checkpoint file, as the store keeps it: append, then trim. */
class JournalTable {
  private rows: JournalEntry[] = [];
  write(entry: JournalAppend): void {
    expect(entry.keepFrom).toBeLessThanOrEqual(entry.seq);
    // What it says it drops (a Kafka changelog deletes those records) is exactly what goes.
    const going = this.rows.filter((r) => r.seq < entry.keepFrom);
    expect(entry.dropped).toEqual(going.map((r) => ({ seq: r.seq, bytes: r.bytes.length })));
    this.rows = this.rows.filter((r) => r.seq !== entry.seq && r.seq >= entry.keepFrom);
    // Stored as the writer's thread gets it: a copy of the bytes.
    this.rows.push({ seq: entry.seq, bytes: entry.bytes.slice() });
    this.rows = this.rows.filter((r) => r.seq >= entry.keepFrom);
  }
  get entries(): JournalEntry[] {
    return [...this.rows];
  }
  get bytes(): number {
    return this.rows.reduce((n, r) => n + r.bytes.length, 0);
  }
}

/** One store with its journal, as a shard's fraud processor holds them. */
function journaled(options: {
  maxCount: number;
  maxAgeMs: number;
  floor?: number;
  entries?: number;
}) {
  const journal = new PredictionJournal(options.floor, options.entries);
  const store = new PredictionStore({
    maxCount: options.maxCount,
    maxAgeMs: options.maxAgeMs,
    ops: journal.ops,
  });
  return { journal, store };
}

type Op =
  | { kind: "put"; id: string; time: number; score: number }
  | { kind: "take"; id: string }
  | { kind: "advance"; time: number };

function randomOps(seed: number, n: number, ids: number): Op[] {
  const random = seededRandom(seed);
  const ops: Op[] = [];
  let clock = 0;
  for (let i = 0; i < n; i++) {
    const roll = random();
    const id = `t${Math.floor(random() * ids)}`;
    clock += Math.floor(random() * 5);
    if (roll < 0.55) {
      ops.push({ kind: "put", id, time: clock - Math.floor(random() * 20), score: random() });
    } else if (roll < 0.9) ops.push({ kind: "take", id });
    else ops.push({ kind: "advance", time: clock });
  }
  return ops;
}

/** Applies an op; a take's outcome, as a comparable value. */
function apply(store: PredictionStore, op: Op): unknown {
  if (op.kind === "put") store.put(fields(op.id, op.time, op.score), row(op.id, op.time));
  else if (op.kind === "advance") store.advance(op.time);
  else {
    const found = store.take(op.id, `card-${op.id}`);
    return found && { ...found, features: [...found.features] };
  }
  return undefined;
}

describe("PredictionJournal", () => {
  test("a store restored from the entries kept at any checkpoint goes on exactly as the original", () => {
    const ops = randomOps(11, 12_000, 300);
    const random = seededRandom(5);
    const options = { maxCount: 60, maxAgeMs: 800 };
    const original = journaled(options);
    const table = new JournalTable();
    // Stores restored at a checkpoint (as after a crash right after it), each then given the
    // same ops as the original for a while: every take must find what the original's finds.
    const twins: { store: PredictionStore; until: number }[] = [];
    let restores = 0;
    let twinTakesFound = 0;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i] as Op;
      const found = apply(original.store, op);
      for (const twin of twins) {
        if (twin.until >= i && found !== undefined) twinTakesFound++;
        if (twin.until < i) continue;
        expect(apply(twin.store, op)).toEqual(found);
        expect(twin.store.size).toBe(original.store.size);
      }
      if (random() > 0.05) continue;
      const extra = new Uint8Array([i & 0xff, i >> 8]);
      table.write(original.journal.cut(original.store, extra));
      if (random() > 0.3) continue;
      restores++;
      const restored = journaled(options);
      expect(restored.journal.restore(restored.store, table.entries)).toEqual(extra);
      expect(restored.store.size).toBe(original.store.size);
      twins.push({ store: restored.store, until: i + 500 });
    }
    expect(restores).toBeGreaterThan(20);
    // Enough takes found a prediction for the comparison to mean something.
    expect(twinTakesFound).toBeGreaterThan(1_000);
    const empty = journaled(options);
    expect(empty.journal.restore(empty.store, [])).toBeNull();
    expect(empty.store.size).toBe(0);
  });

  test("a restarted run goes on with the same journal: its entries follow, and what it drops is what its table holds", () => {
    const ops = randomOps(3, 8_000, 250);
    const options = { maxCount: 80, maxAgeMs: 2_000, floor: 16 * 1024, entries: 5 };
    let run = journaled(options);
    // The same ops, never restarted: every take of the restarted chain must find what it finds.
    const continuous = journaled(options);
    let snapshots = 0;
    const table = new JournalTable();
    for (let i = 0; i < ops.length; i++) {
      expect(apply(run.store, ops[i] as Op)).toEqual(apply(continuous.store, ops[i] as Op));
      if (i % 50 !== 49) continue;
      table.write(run.journal.cut(run.store, new Uint8Array()));
      if (i % 1_000 === 999) {
        // A restart: the next run restores from the table and appends to it.
        const next = journaled(options);
        next.journal.restore(next.store, table.entries);
        expect(next.store.size).toBe(run.store.size);
        snapshots += run.journal.snapshots;
        run = next;
      }
    }
    expect(snapshots + run.journal.snapshots).toBeGreaterThan(10);
    const seqs = table.entries.map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => (seqs[0] as number) + i));
  });

  test("bounded: entries whose predictions are gone are dropped; an old prediction still held leads to a snapshot", () => {
    const options = { maxCount: 1_000, maxAgeMs: 1e12, floor: 64 * 1024, entries: 50 };
    const original = journaled(options);
    const table = new JournalTable();
    // One prediction that waits for its label the whole time...
    original.store.put(fields("old", 0, 0.9), row("old", 0));
    let most = 0;
    for (let i = 1; i <= 20_000; i++) {
      // ...while every other one is labelled right after it is scored.
      original.store.put(fields(`t${i}`, i, 0.1), row(`t${i}`, i));
      original.store.take(`t${i}`, `card-t${i}`);
      if (i % 10 === 0) table.write(original.journal.cut(original.store, new Uint8Array()));
      most = Math.max(most, table.bytes);
    }
    expect(original.journal.snapshots).toBeGreaterThan(10);
    expect(table.entries.length).toBeLessThanOrEqual(50);
    expect(most).toBeLessThan(2 * 64 * 1024);
    const restored = journaled(options);
    restored.journal.restore(restored.store, table.entries);
    expect(restored.store.size).toBe(1);
    expect(restored.store.take("old", "card-old")?.score).toBeCloseTo(0.9);

    // Nothing waiting: only the newest entry is kept.
    const quiet = journaled(options);
    const quietTable = new JournalTable();
    for (let i = 0; i < 100; i++) {
      quiet.store.put(fields(`q${i}`, i, 0.1), row(`q${i}`, i));
      quiet.store.take(`q${i}`, `card-q${i}`);
      quietTable.write(quiet.journal.cut(quiet.store, new Uint8Array()));
    }
    expect(quietTable.entries.map((e) => e.seq)).toEqual([100]);
  });

  test("a damaged or newer entry is refused with the entry named", () => {
    const { journal, store } = journaled({ maxCount: 10, maxAgeMs: 1e9 });
    store.put(fields("a", 1, 0.2), row("a", 1));
    const entry = journal.cut(store, new Uint8Array([1, 2, 3]));
    const target = journaled({ maxCount: 10, maxAgeMs: 1e9 });
    const cutShort = entry.bytes.slice(0, entry.bytes.length - 10);
    expect(() => target.journal.restore(target.store, [{ seq: 4, bytes: cutShort }])).toThrow(
      "prediction journal entry 4:",
    );
    const newer = entry.bytes.slice();
    newer[0] = 9;
    expect(() => target.journal.restore(target.store, [{ seq: 4, bytes: newer }])).toThrow(
      "prediction journal entry 4 has format 9; this build reads 1",
    );
  });
});
