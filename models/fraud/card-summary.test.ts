import { describe, expect, test } from "bun:test";
import { RING_SIZE } from "./card-state.ts";
import { cardSummary } from "./card-summary.ts";
import { initialCardState, updateCardState } from "./features.ts";
import type { Transaction } from "./schema.ts";

const HOUR_MS = 3_600_000;
const T0 = Date.UTC(2025, 0, 1);

function tx(i: number, overrides: Partial<Transaction> = {}): Transaction {
  // Most purchases at 09:00 or 18:00 UTC, one a day; a few at 03:00.
  const hour = i % 10 === 9 ? 3 : i % 2 === 0 ? 9 : 18;
  const timeMs = overrides.timeMs ?? T0 + i * 24 * HOUR_MS + hour * HOUR_MS;
  return {
    transaction_id: `t-${i}`,
    user_id: "u-1",
    timestamp: new Date(timeMs).toISOString(),
    amount: 10 + i,
    currency: "EUR",
    merchant_id: `merchant_${i % 5}`,
    product_category: i % 3 === 0 ? "groceries" : "clothing",
    transaction_type: "purchase",
    payment_method: "debit_card",
    location: { lat: 38.72, lon: -9.14 },
    ip_address: `203.0.113.${i % 3}`,
    device_info: { os: "iOS", browser: "Safari" },
    user_agent: "ua",
    account_age_days: 400,
    cvv_provided: i !== 39,
    billing_address_match: true,
    card_id: "card-1",
    device_id: "dev-1",
    ...overrides,
    timeMs,
  };
}

describe("cardSummary", () => {
  test("a new card: no transactions, no places", () => {
    const summary = cardSummary(initialCardState());
    expect(summary.transactions).toBe(0);
    expect(summary.last).toBeNull();
    expect(summary.home).toBeNull();
    expect(summary.recent).toEqual([]);
    expect(summary.usual_hours_utc).toEqual([]);
  });

  test("unpacks the ring newest first, the categories, the usual hours and the novelty sets", () => {
    const events = Array.from({ length: 40 }, (_, i) => tx(i));
    const state = events.reduce(updateCardState, initialCardState());
    const summary = cardSummary(state);
    expect(summary.transactions).toBe(40);
    // The ring holds the last 32 (it wrapped), newest first, with their times and amounts.
    expect(summary.recent.length).toBe(RING_SIZE);
    expect(summary.recent[0]).toEqual({
      time: events[39]?.timestamp as string,
      amount: 49,
      cvv_missing: true,
      new_merchant: false,
    });
    expect(summary.recent.at(-1)?.time).toBe(events[8]?.timestamp as string);
    expect(summary.recent.filter((r) => r.cvv_missing).length).toBe(1);
    expect(summary.last?.time).toBe(events[39]?.timestamp as string);
    expect(summary.home?.lat).toBeCloseTo(38.72, 3);
    expect(summary.home?.lon).toBeCloseTo(-9.14, 3);
    expect(summary.categories.sort()).toEqual(["clothing", "groceries"]);
    // 20 purchases at 09:00, 16 at 18:00 and 4 at 03:00: the usual hours are the first two.
    expect(summary.usual_hours_utc).toEqual([9, 18]);
    expect(summary.remembered).toEqual({ merchants: 5, devices: 1, ips: 3 });
    // ln-mean of 10..49: between the smallest and the largest amount.
    expect(summary.typical_amount).toBeGreaterThan(10);
    expect(summary.typical_amount).toBeLessThan(49);
  });
});
