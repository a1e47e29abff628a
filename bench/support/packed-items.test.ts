import { describe, expect, test } from "bun:test";
import { FRAUD_LABELS_TOPIC, FRAUD_TRANSACTIONS_TOPIC } from "../../models/fraud/entity.ts";
import { fraudEvents } from "../../models/fraud/simulator/events.ts";
import { type Item, itemOf } from "./fraud-platform.ts";
import { PackedItems } from "./packed-items.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

describe("PackedItems", () => {
  test("gives back every simulated record as it was pushed, grouped in units", () => {
    const packed = new PackedItems();
    const units: { id: string; items: Item[] }[] = [];
    let unit: Item[] = [];
    // Enough to grow every column and the byte array past their first sizes.
    for (const item of fraudEvents({ seed: 7, cards: 500, count: 3_000 })) {
      unit.push(itemOf(item));
      packed.push(itemOf(item));
      if (item.kind !== "transaction") continue;
      units.push({ id: item.event.transaction_id, items: unit });
      packed.endUnit(item.event.transaction_id);
      unit = [];
    }
    expect(packed.unitCount).toBe(3_000);
    const all = units.flatMap((u) => u.items);
    expect(packed.itemCount).toBe(all.length);
    expect(all.some((item) => item.topic === FRAUD_LABELS_TOPIC)).toBe(true);

    expect(packed.items(0, packed.itemCount)).toEqual(all);
    expect(packed.unitItems(1_000, 1_003)).toEqual(
      units.slice(1_000, 1_003).flatMap((u) => u.items),
    );
    expect(packed.unitId(2_999)).toBe(units[2_999]?.id as string);
    // An open loop pacing events counts every item up to a unit's transaction.
    expect(packed.itemsBefore(0)).toBe(0);
    expect(packed.itemsBefore(1)).toBe(units[0]?.items.length as number);
    expect(packed.itemsBefore(3_000)).toBe(all.length);
    expect(() => packed.itemsBefore(3_001)).toThrow(RangeError);
    expect(packed.unitItems(5, 5)).toEqual([]);
    expect(packed.unitItems(2_999, 10_000)).toEqual(units[2_999]?.items as Item[]);
  });

  test("keeps a null key and a missing event time as they were", () => {
    const packed = new PackedItems();
    packed.push({ topic: FRAUD_TRANSACTIONS_TOPIC, record: { key: null, value: bytes("{}") } });
    const [item] = packed.items(0, 1);
    expect(item?.record).toEqual({ key: null, value: bytes("{}") });
    expect(item?.record.timestampMs).toBeUndefined();
  });

  test("refuses a record with headers rather than dropping them", () => {
    const packed = new PackedItems();
    const record = { key: null, value: bytes("{}"), headers: { trace: "1" } };
    expect(() => packed.push({ topic: FRAUD_TRANSACTIONS_TOPIC, record })).toThrow(/headers/);
  });
});
