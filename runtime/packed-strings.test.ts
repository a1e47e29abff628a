import { describe, expect, test } from "bun:test";
import { packStrings, unpackPairs, unpackStrings } from "./packed-strings.ts";

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
    expect([...unpackPairs(keys, packStrings(["1", "2"]))]).toEqual([
      ["a", "1"],
      ["b", "2"],
    ]);
    expect(() => [...unpackPairs(keys, packStrings(["1"]))]).toThrow("2 keys but 1 values");
  });
});
