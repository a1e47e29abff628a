import { describe, expect, test } from "bun:test";
import { PredictionStore, type StoredPrediction } from "./prediction-store.ts";

const DAY = 86_400_000;

function prediction(id: string, eventTimeMs: number, score = 0.5): StoredPrediction {
  return {
    transaction_id: id,
    card_id: `card-${id}`,
    score,
    decision: score >= 0.5 ? "flag" : "pass",
    threshold: 0.5,
    model_version: 1,
    features: new Float32Array([1, 2, 3]),
    featureSchemaVersion: 1,
    amount: 10,
    eventTimeMs,
  };
}

describe("PredictionStore", () => {
  test("take returns a prediction once, then it is gone", () => {
    const store = new PredictionStore();
    store.put(prediction("a", 0, 0.7));
    expect(store.take("a")?.score).toBeCloseTo(0.7);
    expect(store.take("a")).toBeUndefined();
    expect(store.take("never")).toBeUndefined();
    expect(store.size).toBe(0);
  });

  test("bounded by count: the oldest are evicted first, and counted", () => {
    const evictions: [string, number][] = [];
    const store = new PredictionStore({
      maxCount: 3,
      onEvict: (reason, n) => evictions.push([reason, n]),
    });
    for (let i = 0; i < 5; i++) store.put(prediction(`t${i}`, i * 1000));
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
    store.put(prediction("a", 0, 0.1));
    store.put(prediction("b", 1));
    store.put(prediction("a", 2, 0.9));
    store.put(prediction("c", 3));
    expect(store.has("b")).toBe(false);
    expect(store.take("a")?.score).toBeCloseTo(0.9);
  });

  test("bounded by age in event time, by transactions and labels alike", () => {
    const store = new PredictionStore({ maxAgeMs: 10 * DAY });
    store.put(prediction("old", 0));
    store.put(prediction("mid", 5 * DAY));
    store.put(prediction("new", 9 * DAY));
    expect(store.size).toBe(3);
    // A transaction 12 days in: "old" (12 days behind) goes, "mid" (7 days) stays.
    store.put(prediction("newer", 12 * DAY));
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
