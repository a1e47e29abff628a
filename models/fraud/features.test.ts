import { describe, expect, test } from "bun:test";
import { ValidationError } from "../../runtime/errors.ts";
import { SLOT_COUNT } from "./card-state.ts";
import {
  buildFeatureSchema,
  type CardState,
  computeFeatures,
  FEATURE_INDEX as F,
  initialCardState,
  NUMERIC_FEATURES,
  parseFeatureSchema,
  UNKNOWN_CATEGORY,
  updateCardState,
} from "./features.ts";
import { haversineKm } from "./geo.ts";
import type { Transaction } from "./schema.ts";
import { fraudEvents } from "./simulator/events.ts";
import { decodeCardState, encodeCardState } from "./state-codec.ts";

const T0 = Date.UTC(2025, 0, 1, 12);

function tx(overrides: Partial<Transaction> = {}): Transaction {
  const timeMs = overrides.timeMs ?? T0;
  return {
    transaction_id: `t-${timeMs}`,
    user_id: "u-1",
    timestamp: new Date(timeMs).toISOString(),
    amount: 20,
    currency: "EUR",
    merchant_id: "merchant_1",
    product_category: "groceries",
    transaction_type: "purchase",
    payment_method: "debit_card",
    location: { lat: 38.72, lon: -9.14 },
    ip_address: "203.0.113.7",
    device_info: { os: "iOS", browser: "Safari" },
    user_agent: "ua",
    account_age_days: 400,
    cvv_provided: true,
    billing_address_match: true,
    card_id: "card-1",
    device_id: "dev-1",
    ...overrides,
    timeMs,
  };
}

function fold(events: Transaction[]): CardState {
  return events.reduce(updateCardState, initialCardState());
}

const schema = buildFeatureSchema();

describe("computeFeatures", () => {
  test("has about thirty named features and uses the state before the event", () => {
    expect(schema.names.length).toBe(NUMERIC_FEATURES.length + 6);
    expect(schema.names.length).toBeGreaterThanOrEqual(30);
    const first = computeFeatures(initialCardState(), tx(), schema);
    expect(first[F.is_first_tx]).toBe(1);
    expect(first[F.tx_count_24h]).toBe(0);
    expect(first[F.merchant_new]).toBe(1);
    expect(first[F.hour_usual_fraction]).toBeCloseTo(3 / 24, 10);
  });

  test("before vs after the update: the event itself is counted only after", () => {
    const history = [tx({ timeMs: T0 - 3_600_000 * 5 }), tx({ timeMs: T0 - 30_000 })];
    const event = tx({ timeMs: T0, merchant_id: "merchant_2", amount: 50 });
    const before = fold(history);
    const after = updateCardState(before, event);
    const f0 = computeFeatures(before, event, schema);
    const f1 = computeFeatures(after, event, schema);
    expect(f0[F.merchant_new]).toBe(1);
    expect(f1[F.merchant_new]).toBe(0);
    expect(f0[F.tx_count_1m]).toBe(1);
    expect(f1[F.tx_count_1m]).toBe(2);
    expect(f0[F.tx_count_24h]).toBe(2);
    expect(f1[F.tx_count_24h]).toBe(3);
    expect(f0[F.seconds_since_last_log]).toBeCloseTo(Math.log1p(30), 10);
    expect(f1[F.seconds_since_last_log]).toBe(0);
    expect(f0[F.amount_sum_1h_log]).toBeCloseTo(Math.log1p(20), 10);
    expect(f1[F.amount_sum_1h_log]).toBeCloseTo(Math.log1p(70), 10);
  });

  test("the update is pure: the state before is left untouched", () => {
    const before = fold([tx({ timeMs: T0 - 60_000 })]);
    const copy = encodeCardState(before).slice();
    updateCardState(before, tx({ merchant_id: "merchant_9" }));
    expect(encodeCardState(before)).toEqual(copy);
  });

  test("point in time: appending later events never changes earlier features", () => {
    const events: Transaction[] = [];
    for (const item of fraudEvents({ seed: 8, cards: 20, count: 600, labels: false })) {
      if (item.kind === "transaction") events.push(item.event);
    }
    const featuresOf = (list: Transaction[]) => {
      const states = new Map<string, CardState>();
      return list.map((event) => {
        const key = event.card_id ?? "";
        const state = states.get(key) ?? initialCardState();
        const features = computeFeatures(state, event, schema);
        states.set(key, updateCardState(state, event));
        return Array.from(features);
      });
    };
    const full = featuresOf(events);
    const prefix = featuresOf(events.slice(0, 300));
    expect(full.slice(0, 300)).toEqual(prefix);
  });

  test("windows, Welford statistics and the z-score", () => {
    const amounts = [10, 12, 9, 11, 10, 13];
    const history = amounts.map((amount, i) =>
      tx({ amount, timeMs: T0 - (amounts.length - i) * 20 * 60_000 }),
    );
    const state = fold(history);
    const f = computeFeatures(state, tx({ amount: 500 }), schema);
    const logs = amounts.map((a) => Math.log1p(a));
    const mean = logs.reduce((a, b) => a + b) / logs.length;
    const std = Math.sqrt(logs.reduce((a, b) => a + (b - mean) ** 2, 0) / (logs.length - 1));
    expect(f[F.amount_mean_log]).toBeCloseTo(mean, 12);
    expect(f[F.amount_std_log]).toBeCloseTo(std, 12);
    expect(f[F.amount_zscore]).toBeCloseTo((Math.log1p(500) - mean) / std, 9);
    expect(f[F.tx_count_1h]).toBe(2); // 20 and 40 minutes ago
    expect(f[F.tx_count_24h]).toBe(6);
    expect(f[F.amount_max_ratio_24h]).toBeCloseTo(501 / 14, 12);
  });

  test("distance and implied speed from the previous transaction", () => {
    const lisbon = tx({ timeMs: T0 - 3_600_000 });
    const moscow = tx({
      location: { lat: 55.76, lon: 37.62 },
      device_id: "dev-x",
      ip_address: "198.51.100.1",
    });
    const f = computeFeatures(fold([lisbon]), moscow, schema);
    const km = haversineKm(38.72, -9.14, 55.76, 37.62);
    expect(f[F.distance_from_last_km]).toBeCloseTo(km, 6);
    expect(f[F.speed_from_last_kmh]).toBeCloseTo(km, 6); // one hour apart
    expect(f[F.distance_from_home_km]).toBeCloseTo(km, 3);
    expect(f[F.device_new]).toBe(1);
    expect(f[F.ip_new]).toBe(1);
    expect(f[F.merchant_new]).toBe(0);
  });

  test("haversine: London to Paris is about 344 km", () => {
    expect(haversineKm(51.5074, -0.1278, 48.8566, 2.3522)).toBeCloseTo(343.5, 0);
  });

  test("novelty sets forget the least recently seen, and remember a regular", () => {
    let state = fold([tx({ merchant_id: "regular" })]);
    for (let i = 0; i < 100; i++) {
      state = updateCardState(state, tx({ merchant_id: `m${i}`, timeMs: T0 + i * 1000 }));
      if (i % 10 === 0)
        state = updateCardState(state, tx({ merchant_id: "regular", timeMs: T0 + i * 1000 }));
    }
    const at = T0 + 200_000;
    expect(
      computeFeatures(state, tx({ merchant_id: "regular", timeMs: at }), schema)[F.merchant_new],
    ).toBe(0);
    expect(
      computeFeatures(state, tx({ merchant_id: "m99", timeMs: at }), schema)[F.merchant_new],
    ).toBe(0);
    expect(
      computeFeatures(state, tx({ merchant_id: "m0", timeMs: at }), schema)[F.merchant_new],
    ).toBe(1);
  });

  test("state is bounded: fixed size whatever the history", () => {
    let state = initialCardState();
    for (let i = 0; i < 5000; i++) {
      state = updateCardState(
        state,
        tx({ merchant_id: `m${i}`, ip_address: `10.0.${i % 250}.1`, timeMs: T0 + i * 60_000 }),
      );
    }
    expect(state.slots.length).toBe(SLOT_COUNT);
    expect(state.count).toBe(5000);
    const f = computeFeatures(state, tx({ timeMs: T0 + 5000 * 60_000 }), schema);
    // Windows saturate at the ring size (32) rather than growing.
    expect(f[F.tx_count_24h]).toBe(32);
  });

  test("CVV failures in 24 h and new merchants in 1 h come from the ring", () => {
    const state = fold([
      tx({ timeMs: T0 - 30 * 3_600_000, cvv_provided: false }),
      tx({ timeMs: T0 - 2 * 3_600_000, cvv_provided: false, merchant_id: "a" }),
      tx({ timeMs: T0 - 10 * 60_000, merchant_id: "b" }),
      tx({ timeMs: T0 - 5 * 60_000, merchant_id: "c", cvv_provided: false }),
    ]);
    const f = computeFeatures(state, tx(), schema);
    expect(f[F.cvv_missing_count_24h]).toBe(2);
    expect(f[F.new_merchant_count_1h]).toBe(2);
  });
});

describe("feature schema", () => {
  test("codes come from the saved lists; an unknown value gets code 0", () => {
    const trained = buildFeatureSchema({
      transactions: [tx({ currency: "EUR" }), tx({ currency: "USD" })],
    });
    expect(trained.categories.currency).toEqual([UNKNOWN_CATEGORY, "USD", "EUR"]);
    const column = trained.names.indexOf("currency");
    expect(computeFeatures(initialCardState(), tx({ currency: "EUR" }), trained)[column]).toBe(2);
    expect(computeFeatures(initialCardState(), tx({ currency: "JPY" }), trained)[column]).toBe(0);
  });

  test("one-hot encoding, with an explicit unknown column", () => {
    const onehot = buildFeatureSchema({ encoding: "onehot", transactions: [tx()] });
    expect(onehot.names).toContain("currency=EUR");
    expect(onehot.names).toContain(`currency=${UNKNOWN_CATEGORY}`);
    const f = computeFeatures(initialCardState(), tx({ currency: "BRL" }), onehot);
    expect(f[onehot.names.indexOf(`currency=${UNKNOWN_CATEGORY}`)]).toBe(1);
    expect(f[onehot.names.indexOf("currency=EUR")]).toBe(0);
    // Numeric features come first in every encoding, at the same columns.
    expect(onehot.names.slice(0, NUMERIC_FEATURES.length)).toEqual([...NUMERIC_FEATURES]);
  });

  test("a saved schema survives JSON; a foreign one is refused", () => {
    const saved = JSON.parse(JSON.stringify(buildFeatureSchema({ encoding: "onehot" })));
    expect(parseFeatureSchema(saved)).toEqual(saved);
    expect(() => parseFeatureSchema({ ...saved, version: 99 })).toThrow(ValidationError);
    expect(() => parseFeatureSchema({ ...saved, names: saved.names.slice(1) })).toThrow("names");
    expect(() => computeFeatures(initialCardState(), tx(), { ...saved, version: 2 })).toThrow(
      "version",
    );
  });
});

describe("state codec", () => {
  test("round-trips exactly: features from a restored state are identical", () => {
    const events: Transaction[] = [];
    for (const item of fraudEvents({ seed: 4, cards: 5, count: 400, labels: false })) {
      if (item.kind === "transaction") events.push(item.event);
    }
    const byCard = new Map<string, CardState>();
    for (const event of events) {
      const key = event.card_id ?? "";
      byCard.set(key, updateCardState(byCard.get(key) ?? initialCardState(), event));
    }
    const probe = events[events.length - 1] as Transaction;
    for (const state of byCard.values()) {
      // A copy: the encoder hands out its scratch buffer.
      const bytes = encodeCardState(state).slice();
      const restored = decodeCardState(bytes);
      expect(encodeCardState(restored)).toEqual(bytes);
      expect(Array.from(computeFeatures(restored, probe, schema))).toEqual(
        Array.from(computeFeatures(state, probe, schema)),
      );
      expect(bytes.length).toBe(680);
    }
  });

  test("decodes a state from anywhere in a larger buffer (a packed checkpoint)", () => {
    const state = fold([tx({ timeMs: T0 - 60_000 }), tx({ merchant_id: "merchant_9" })]);
    const packed = new Uint8Array(1 + 680);
    packed.set(encodeCardState(state), 1); // not 8-byte aligned
    expect(encodeCardState(decodeCardState(packed.subarray(1)))).toEqual(encodeCardState(state));
  });

  test("refuses bytes and text it did not write", () => {
    const text = (t: string) => new TextEncoder().encode(t);
    expect(() => decodeCardState(text("v0;1;2"))).toThrow(ValidationError);
    expect(() => decodeCardState(text("v1;1,2;AAAA"))).toThrow("numbers");
    expect(() => decodeCardState(text("v2;AAAA"))).toThrow("bytes");
    expect(() => decodeCardState(new Uint8Array([3, 0, 0, 0, 0, 0, 0, 0, 1]))).toThrow(
      "card state v3: expected 672 bytes",
    );
    expect(() => decodeCardState(new Uint8Array(680).fill(3))).toThrow("malformed header");
  });

  test("reads the v1 and v2 text of checkpoints written before v3", () => {
    let state = initialCardState();
    for (const item of fraudEvents({ seed: 5, cards: 1, count: 50, labels: false })) {
      if (item.kind === "transaction") state = updateCardState(state, item.event);
    }
    const scalars = [
      state.count,
      state.amountMeanLog,
      state.amountM2Log,
      state.lastTimeMs,
      state.lastLat,
      state.lastLon,
      state.homeX,
      state.homeY,
      state.homeZ,
      state.categoryMask,
      state.cvvMissingMask,
      state.newMerchantMask,
    ];
    const slots = new DataView(new ArrayBuffer(state.slots.length * 4));
    for (const [i, v] of state.slots.entries()) slots.setUint32(i * 4, v, true);
    const v1 = `v1;${scalars.join(",")};${Buffer.from(slots.buffer).toString("base64")}`;
    const want = encodeCardState(state).slice();
    expect(encodeCardState(decodeCardState(new TextEncoder().encode(v1)))).toEqual(want);
    // v2: the same scalars (as doubles) and slots, base64 text.
    const v2Body = Buffer.from(want.subarray(8)).toString("base64");
    expect(encodeCardState(decodeCardState(new TextEncoder().encode(`v2;${v2Body}`)))).toEqual(
      want,
    );
  });
});
