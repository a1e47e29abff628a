import { describe, expect, test } from "bun:test";
import { RowRing } from "./row-ring.ts";

/** n rows of 2 features whose values name them: row k is [k, k + 0.5]. */
function rows(first: number, n: number): Float64Array {
  const out = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    out[i * 2] = first + i;
    out[i * 2 + 1] = first + i + 0.5;
  }
  return out;
}

describe("RowRing", () => {
  test("rows come back in order across the wrap, and room never exceeds the capacity", () => {
    const ring = new RowRing(5, 2, 3);
    let next = 0;
    let expectedNext = 0;
    for (let round = 0; round < 20; round++) {
      const n = 1 + (round % 3);
      if (ring.available >= n) {
        ring.write(rows(next, n), n);
        next += n;
      }
      expect(ring.held).toBeLessThanOrEqual(5);
      const take = Math.min(3, ring.held);
      const batch = ring.read(ring.head, take);
      expect(Array.from(batch)).toEqual(Array.from(rows(expectedNext, take)));
      ring.free(take);
      expectedNext += take;
    }
    expect(expectedNext).toBe(next);
  });

  test("refuses rows it has no room for, and frees no more than it holds", () => {
    const ring = new RowRing(4, 2, 4);
    ring.write(rows(0, 3), 3);
    expect(() => ring.write(rows(3, 2), 2)).toThrow(RangeError);
    expect(() => ring.free(4)).toThrow(RangeError);
    ring.free(3);
    expect(ring.held).toBe(0);
  });
});
