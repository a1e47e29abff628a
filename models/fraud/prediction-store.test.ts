import { describe, expect, test } from "bun:test";
import { type PredictionFields, PredictionStore } from "./prediction-store.ts";

const DAY = 86_400_000;

function prediction(id: string, eventTimeMs: number, score = 0.5): PredictionFields {
  return {
    transaction_id: id,
    card_id: `card-${id}`,
    score,
    decision: score >= 0.5 ? "flag" : "pass",
    threshold: 0.5,
    model_version: 1,
    featureSchemaVersion: 1,
    amount: 10,
    eventTimeMs,
  };
}

const ROW = new Float32Array([1, 2, 3]);

describe("PredictionStore", () => {
  test("take returns a prediction once, then it is gone", () => {
    const store = new PredictionStore();
    store.put(prediction("a", 0, 0.7), ROW);
    expect(store.take("a", "card-a")?.score).toBeCloseTo(0.7);
    expect(store.take("a", "card-a")).toBeUndefined();
    expect(store.take("never", "card-never")).toBeUndefined();
    expect(store.size).toBe(0);
  });

  test("bounded by count: the oldest are evicted first, and counted", () => {
    const evictions: [string, number][] = [];
    const store = new PredictionStore({
      maxCount: 3,
      onEvict: (reason, n) => evictions.push([reason, n]),
    });
    for (let i = 0; i < 5; i++) store.put(prediction(`t${i}`, i * 1000), ROW);
    expect(store.size).toBe(3);
    expect(store.has("t0")).toBe(false);
    expect(store.has("t1")).toBe(false);
    expect(["t2", "t3", "t4"].every((id) => store.has(id))).toBe(true);
    expect(store.evicted).toEqual({ count: 2, age: 0 });
    expect(evictions).toEqual([
      ["count", 1],
      ["count", 1],
    ]);
  });

  test("a re-scored transaction replaces its prediction and becomes the newest", () => {
    const store = new PredictionStore({ maxCount: 2 });
    store.put(prediction("a", 0, 0.1), ROW);
    store.put(prediction("b", 1), ROW);
    store.put(prediction("a", 2, 0.9), ROW);
    store.put(prediction("c", 3), ROW);
    expect(store.has("b")).toBe(false);
    expect(store.take("a", "card-a")?.score).toBeCloseTo(0.9);
  });

  test("bounded by age in event time, by transactions and labels alike", () => {
    const store = new PredictionStore({ maxAgeMs: 10 * DAY });
    store.put(prediction("old", 0), ROW);
    store.put(prediction("mid", 5 * DAY), ROW);
    store.put(prediction("new", 9 * DAY), ROW);
    expect(store.size).toBe(3);
    // A transaction 12 days in: "old" (12 days behind) goes, "mid" (7 days) stays.
    store.put(prediction("newer", 12 * DAY), ROW);
    expect(store.has("old")).toBe(false);
    expect(store.has("mid")).toBe(true);
    // A label's time moves event time on too.
    store.advance(19 * DAY + 1);
    expect(store.has("mid")).toBe(false);
    expect(store.has("new")).toBe(false);
    expect(store.has("newer")).toBe(true);
    expect(store.evicted).toEqual({ count: 0, age: 3 });
    // Event time going back evicts nothing.
    store.advance(0);
    expect(store.size).toBe(1);
  });
});

describe("PredictionStore's columns", () => {
  test("gives back each prediction's exact fields and feature row, with slots freed and reused", () => {
    const store = new PredictionStore({ maxCount: 5000 });
    const rows = new Float32Array(4 * 3000);
    for (let i = 0; i < rows.length; i++) rows[i] = i / 7;
    for (let i = 0; i < 3000; i++) {
      store.put({ ...prediction(`t${i}`, i, (i % 10) / 10), amount: i * 1.5 }, rows, i * 4, 4);
      // Slots freed in the middle of the order: every third taken as it goes.
      if (i % 3 === 2)
        expect(store.take(`t${i - 1}`, `card-t${i - 1}`)?.transaction_id).toBe(`t${i - 1}`);
    }
    expect(store.size).toBe(2000);
    for (const i of [0, 2, 1500, 2999]) {
      const found = store.take(`t${i}`, `card-t${i}`);
      expect(found?.features).toEqual(rows.slice(i * 4, i * 4 + 4));
      expect(found?.amount).toBe(i * 1.5);
      expect(found?.score).toBeCloseTo((i % 10) / 10, 12);
      expect(found?.decision).toBe((i % 10) / 10 >= 0.5 ? "flag" : "pass");
      expect(found?.card_id).toBe(`card-t${i}`);
      expect(found?.eventTimeMs).toBe(i);
    }
    // A transaction id held for another card is not that card's prediction.
    expect(store.take("t3", "card-t4")).toBeUndefined();
    expect(store.has("t3")).toBe(true);
    expect(() => store.put(prediction("wide", 1), new Float32Array(5))).toThrow(
      "a feature row of 5; this store holds rows of 4",
    );
  });

  test("takes memory for the predictions it holds, not for its bound", () => {
    // Sized for its bound once, so it never stops to copy itself while growing; the pages of a
    // slot are only mapped once a prediction is written there (and freed slots are reused).
    Bun.gc(true);
    const rssBefore = process.memoryUsage().rss;
    const store = new PredictionStore({ maxCount: 2_000_000 });
    const row = new Float32Array(31);
    for (let i = 0; i < 50_000; i++) {
      store.put(prediction(`t${i}`, i), row);
      if (i >= 1000) store.take(`t${i - 1000}`, `card-t${i - 1000}`);
    }
    expect(store.size).toBe(1000);
    // 2 million slots of 31 features are ~400 MB, and their hash table 16 MB (touched all over,
    // as hashes spread); 50k puts never held more than ~1k predictions. The margin is for the
    // rest of the test process, whose heap moves too (~70 MB seen in a full run).
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(200 * 2 ** 20);
  });

  test("behaves as a map in insertion order under random puts, takes and event times", () => {
    // The reference: the plain map the store was before it was stored by column.
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const maxCount = 40;
    const maxAgeMs = 500;
    const store = new PredictionStore({ maxCount, maxAgeMs });
    const reference = new Map<string, number>();
    let newest = Number.NEGATIVE_INFINITY;
    const evicted = { count: 0, age: 0 };
    const advance = (time: number) => {
      if (!(time > newest)) return;
      newest = time;
      for (const [id, t] of reference) {
        if (t >= time - maxAgeMs) break;
        reference.delete(id);
        evicted.age++;
      }
    };
    let clock = 0;
    for (let step = 0; step < 20_000; step++) {
      const roll = random();
      const id = `t${Math.floor(random() * 400)}`;
      clock += Math.floor(random() * 5);
      if (roll < 0.6) {
        const time = clock - Math.floor(random() * 20); // near-ordered, as event time is
        store.put(prediction(id, time), ROW);
        reference.delete(id);
        reference.set(id, time);
        if (reference.size > maxCount) {
          const oldest = reference.keys().next().value as string;
          reference.delete(oldest);
          evicted.count++;
        }
        advance(time);
      } else if (roll < 0.9) {
        expect(store.take(id, `card-${id}`)?.eventTimeMs).toBe(reference.get(id));
        reference.delete(id);
      } else {
        store.advance(clock);
        advance(clock);
      }
      expect(store.size).toBe(reference.size);
    }
    for (const id of reference.keys()) expect(store.has(id)).toBe(true);
    expect(store.evicted).toEqual(evicted);
  });
});
