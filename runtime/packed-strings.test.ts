import { describe, expect, test } from "bun:test";
import {
  PackedBytesBuilder,
  packBytes,
  packStrings,
  unpackBytes,
  unpackPairs,
  unpackStrings,
} from "./packed-strings.ts";

const bytes = (...values: number[]) => Uint8Array.from(values);

describe("packed strings", () => {
  test("round-trip any strings, empty and non-ASCII ones included, in order", () => {
    const parts = ["card-1", "", "é✓ü", "🐇 rabbit", "v2;AAAA", "a".repeat(10_000)];
    expect("utf8" in packStrings(parts)).toBe(true); // posted as bytes, not as a long string
    const packed = packStrings(parts);
    expect(packed.lengths.length).toBe(parts.length);
    expect([...unpackStrings(packed)]).toEqual(parts);
    expect([...unpackStrings(packStrings([]))]).toEqual([]);
  });

  test("a lone surrogate (valid in a JSON string) survives: such text is packed as text", () => {
    const parts = ["a\ud800b", "\udc00", "ok"];
    const packed = packStrings(parts);
    expect("utf8" in packed).toBe(false);
    expect([...unpackStrings(packed)]).toEqual(parts);
  });

  test("pairs keys with their values, and refuses lists of different lengths", () => {
    const keys = packStrings(["a", "b"]);
    expect([...unpackPairs(keys, packBytes([bytes(1), bytes(2, 3)]))]).toEqual([
      ["a", bytes(1)],
      ["b", bytes(2, 3)],
    ]);
    expect(() => [...unpackPairs(keys, packBytes([bytes(1)]))]).toThrow("2 keys but 1 values");
  });
});

describe("packed bytes", () => {
  test("a builder copies each part, so one reused buffer can be added again and again", () => {
    const scratch = new Uint8Array(3);
    const builder = new PackedBytesBuilder(400, 16); // grows past its guess several times
    const expected: Uint8Array[] = [];
    for (let i = 0; i < 400; i++) {
      scratch.set([i & 255, (i >> 8) & 255, 7]);
      const part = i % 5 === 0 ? new Uint8Array(0) : scratch.subarray(0, 1 + (i % 3));
      builder.add(part);
      expected.push(part.slice());
    }
    expect([...unpackBytes(builder.finish())]).toEqual(expected);
  });

  test("a builder holds at most the parts it was made for, and packs those it got", () => {
    const builder = new PackedBytesBuilder(3);
    builder.add(bytes(1));
    builder.add(bytes(2));
    expect([...unpackBytes(builder.finish())]).toEqual([bytes(1), bytes(2)]);
    const full = new PackedBytesBuilder(1);
    full.add(bytes(1));
    expect(() => full.add(bytes(2))).toThrow("more than the 1 parts it was made for");
  });
});
