import { describe, expect, test } from "bun:test";
import { Value } from "@sinclair/typebox/value";
import { LabelEventSchema, TransactionEventSchema } from "./json-schema.ts";
import { parseLabel, parseTransaction } from "./schema.ts";
import { fraudEvents } from "./simulator/events.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const wire = (bytes: Uint8Array): unknown => JSON.parse(decoder.decode(bytes));

function parserAccepts(value: unknown): boolean {
  try {
    parseTransaction(encoder.encode(JSON.stringify(value)));
    return true;
  } catch {
    return false;
  }
}

describe("JSON Schemas of the fraud events", () => {
  test("every simulated transaction and label validates against its schema", () => {
    let labels = 0;
    for (const item of fraudEvents({
      seed: 11,
      cards: 300,
      count: 3000,
      inlineLabels: true,
      drainLabels: true,
    })) {
      const schema = item.kind === "transaction" ? TransactionEventSchema : LabelEventSchema;
      const value = wire(item.record.value);
      expect([...Value.Errors(schema, value)].map((e) => `${e.path} ${e.message}`)).toEqual([]);
      if (item.kind === "label") labels++;
    }
    expect(labels).toBeGreaterThan(1000);
  });

  test("original-format events validate too", () => {
    for (const item of fraudEvents({ seed: 3, count: 500, originalFormat: true })) {
      expect(Value.Check(TransactionEventSchema, wire(item.record.value))).toBe(true);
    }
  });

  test("the schema and the hand-written parser agree on invalid events", () => {
    const base = wire(
      [...fraudEvents({ seed: 1, cards: 10, count: 1 })].find((i) => i.kind === "transaction")
        ?.record.value ?? new Uint8Array(),
    ) as Record<string, unknown>;
    const mutations: Record<string, unknown>[] = [
      { amount: undefined },
      { amount: -1 },
      { amount: 2e7 },
      { timestamp: "2025-02-30T00:00:00Z" },
      { timestamp: "not a time" },
      { currency: "XYZ" },
      { product_category: "weapons" },
      { location: { lat: 95, lon: 0 } },
      { location: { lat: 0, lon: 181 } },
      { device_info: { os: "BeOS", browser: "Chrome" } },
      { user_agent: "u".repeat(513) },
      { transaction_id: "" },
      { card_id: "c".repeat(129) },
      { account_age_days: 2.5 },
      { cvv_provided: 1 },
      { is_fraud: 2 },
    ];
    expect(Value.Check(TransactionEventSchema, base)).toBe(true);
    expect(parserAccepts(base)).toBe(true);
    for (const mutation of mutations) {
      const value = { ...base, ...mutation };
      for (const [key, v] of Object.entries(mutation)) if (v === undefined) delete value[key];
      expect({ mutation, schema: Value.Check(TransactionEventSchema, value) }).toEqual({
        mutation,
        schema: false,
      });
      expect({ mutation, parser: parserAccepts(value) }).toEqual({ mutation, parser: false });
    }
  });

  test("labels: a valid one passes both, a bad kind fails both", () => {
    const label = {
      transaction_id: "t",
      card_id: "c",
      is_fraud: 0,
      label_time: "2025-01-01T00:00:00.000Z",
      kind: "confirmed",
    };
    expect(Value.Check(LabelEventSchema, label)).toBe(true);
    expect(parseLabel(encoder.encode(JSON.stringify(label))).kind).toBe("confirmed");
    expect(Value.Check(LabelEventSchema, { ...label, kind: "refund" })).toBe(false);
    expect(() => parseLabel(encoder.encode(JSON.stringify({ ...label, kind: "refund" })))).toThrow(
      "kind",
    );
  });
});
