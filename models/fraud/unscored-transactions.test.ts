import { expect, test } from "bun:test";
import { UnscoredTransactions } from "./unscored-transactions.ts";

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

test("remembers every id added; ids never added are rarely taken for one", () => {
  const unscored = new UnscoredTransactions();
  expect(unscored.has("tx-0")).toBe(false);
  const added = ids("tx", 250_000);
  for (const id of added) unscored.add(id);
  expect(added.every((id) => unscored.has(id))).toBe(true);
  // A full generation with the defaults: the filter's false positive rate, ~5e-4 by its sizing.
  const others = ids("other", 100_000);
  const falsePositives = others.filter((id) => unscored.has(id)).length;
  expect(falsePositives / others.length).toBeLessThan(0.002);
});

test("bounded: keeps the last one to two generations of ids, and forgets older ones", () => {
  const unscored = new UnscoredTransactions({ capacity: 1_000, bits: 2 ** 16 });
  const first = ids("first", 1_000);
  const second = ids("second", 1_000);
  const third = ids("third", 1_000);
  for (const id of [...first, ...second]) unscored.add(id);
  expect(first.every((id) => unscored.has(id))).toBe(true);
  expect(second.every((id) => unscored.has(id))).toBe(true);
  for (const id of third) unscored.add(id);
  // The first generation is gone (up to false positives of the two kept).
  expect(first.filter((id) => unscored.has(id)).length).toBeLessThan(50);
  expect([...second, ...third].every((id) => unscored.has(id))).toBe(true);
});

test("bad sizes are refused", () => {
  expect(() => new UnscoredTransactions({ bits: 1000 })).toThrow("power of two");
  expect(() => new UnscoredTransactions({ capacity: 0 })).toThrow("capacity 0");
});

test("kept as bytes: the same ids after a round trip; other sizes or damaged bytes are refused", () => {
  const unscored = new UnscoredTransactions({ capacity: 1_000, bits: 2 ** 16 });
  expect(unscored.toBytes()).toBeNull();
  const added = ids("kept", 1_500); // two generations
  for (const id of added) unscored.add(id);
  expect(unscored.dirty).toBe(true);
  const bytes = unscored.toBytes() as Uint8Array;
  expect(unscored.dirty).toBe(false);
  const again = new UnscoredTransactions({ capacity: 1_000, bits: 2 ** 16 });
  expect(again.fromBytes(bytes)).toBe(true);
  expect(added.every((id) => again.has(id))).toBe(true);
  const others = ids("not-kept", 1_000);
  expect(others.filter((id) => again.has(id))).toEqual(others.filter((id) => unscored.has(id)));
  // The current generation goes on filling where it stood.
  for (const id of ids("more", 600)) again.add(id);
  expect(added.slice(1_000).every((id) => again.has(id))).toBe(true);

  const other = new UnscoredTransactions({ capacity: 1_000, bits: 2 ** 15 });
  expect(other.fromBytes(bytes)).toBe(false);
  expect(other.has("kept-1")).toBe(false);
  expect(
    new UnscoredTransactions({ capacity: 1_000, bits: 2 ** 16 }).fromBytes(bytes.subarray(0, 100)),
  ).toBe(false);
});
