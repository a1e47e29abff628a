import { describe, expect, test } from "bun:test";
import { setBounded } from "./bounded-map.ts";

describe("setBounded", () => {
  test("keeps at most max entries, dropping the oldest first", () => {
    const map = new Map<string, number>();
    for (let i = 0; i < 5; i++) setBounded(map, `k${i}`, i, 3);
    expect([...map]).toEqual([
      ["k2", 2],
      ["k3", 3],
      ["k4", 4],
    ]);
  });

  test("below the bound it is a plain set", () => {
    const map = new Map<string, number>([["a", 1]]);
    setBounded(map, "a", 2, 3);
    setBounded(map, "b", 3, 3);
    expect([...map]).toEqual([
      ["a", 2],
      ["b", 3],
    ]);
  });
});
