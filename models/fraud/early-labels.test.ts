import { expect, test } from "bun:test";
import { EarlyLabels } from "./early-labels.ts";

test("a held label is taken once its transaction is scored, and only once", () => {
  const early = new EarlyLabels<string>(10);
  expect(early.hold("tx-1", 5_000, "label of tx-1")).toEqual([]);
  expect(early.take("tx-2")).toBeUndefined();
  expect(early.take("tx-1")).toBe("label of tx-1");
  expect(early.take("tx-1")).toBeUndefined();
  expect(early.size).toBe(0);
});

test("labels are given up once the transactions read reach their own time", () => {
  const early = new EarlyLabels<string>(10);
  early.hold("tx-1", 1_000, "a");
  early.hold("tx-2", 3_000, "b");
  early.hold("tx-3", 2_000, "c");
  expect(early.expire(999)).toEqual([]);
  expect(early.expire(2_000).sort()).toEqual(["a", "c"]);
  expect(early.size).toBe(1);
  expect(early.take("tx-2")).toBe("b");
});

test("the count bound gives up the oldest held label; a second label for a transaction replaces the first", () => {
  const early = new EarlyLabels<string>(2);
  early.hold("tx-1", 1, "a");
  early.hold("tx-2", 2, "b");
  expect(early.hold("tx-3", 3, "c")).toEqual(["a"]);
  expect(early.hold("tx-3", 4, "c2")).toEqual(["c"]);
  expect(early.size).toBe(2);
  expect(early.take("tx-3")).toBe("c2");
  expect(() => new EarlyLabels(0)).toThrow("maxCount 0; expected >= 1");
});
