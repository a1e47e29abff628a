import { describe, expect, test } from "bun:test";
import { Mailbox } from "./mailbox.ts";

describe("Mailbox", () => {
  test("is first in, first out across the ring's wrap-around", () => {
    const box = new Mailbox<number>(3);
    const out: number[] = [];
    for (let i = 0; i < 10; i++) {
      expect(box.push(i)).toBe(true);
      if (box.depth === 2) out.push(box.shift() as number);
    }
    while (box.depth > 0) out.push(box.shift() as number);
    expect(out).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test("refuses items past its capacity and keeps what it had", () => {
    const box = new Mailbox<string>(2);
    expect(box.push("a")).toBe(true);
    expect(box.push("b")).toBe(true);
    expect(box.isFull).toBe(true);
    expect(box.push("c")).toBe(false);
    expect(box.depth).toBe(2);
    expect(box.drainAll()).toEqual(["a", "b"]);
    expect(box.depth).toBe(0);
    expect(box.shift()).toBeUndefined();
  });

  test("rejects a capacity that is not a positive integer, naming it", () => {
    expect(() => new Mailbox(0)).toThrow("mailbox capacity: 0 is not valid");
    expect(() => new Mailbox(1.5)).toThrow(RangeError);
  });
});
