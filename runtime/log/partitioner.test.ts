import { describe, expect, test } from "bun:test";
import { Partitioners } from "kafkajs";
import { murmur2, partitionFor, partitionForString, toPositive } from "./partitioner.ts";

const utf8 = new TextEncoder();

describe("murmur2", () => {
  // The vectors of Kafka's own `UtilsTest.testMurmur2` (Java, signed int results).
  const kafkaVectors: Array<[string, number]> = [
    ["21", -973932308],
    ["foobar", -790332482],
    ["a-little-bit-long-string", -985981536],
    ["a-little-bit-longer-string", -1486304829],
    ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
    ["abc", 479470107],
  ];
  for (const [input, expected] of kafkaVectors) {
    test(`matches Kafka's UtilsTest for "${input}"`, () => {
      expect(murmur2(utf8.encode(input))).toBe(expected);
    });
  }

  test("covers every tail length (0..3 trailing bytes) like the Java client", () => {
    // The same results the Java client gives; each string has a different length mod 4.
    expect(murmur2(utf8.encode("1"))).toBe(-1993445489);
    expect(murmur2(utf8.encode("12"))).toBe(126087238);
    expect(murmur2(utf8.encode("123"))).toBe(-267702483);
    expect(murmur2(utf8.encode("1234"))).toBe(-1614185708);
    expect(murmur2(utf8.encode("12345"))).toBe(-1188365604);
  });
});

describe("partitionFor", () => {
  test("toPositive clears the sign bit", () => {
    expect(toPositive(-1)).toBe(0x7fffffff);
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(5)).toBe(5);
  });

  test("foobar over 50 partitions is 16, as Kafka computes", () => {
    expect(partitionFor(utf8.encode("foobar"), 50)).toBe(16);
    expect(partitionForString("foobar", 50)).toBe(16);
  });

  test("agrees with kafkajs's Java-compatible DefaultPartitioner on random keys", () => {
    const kafkajs = Partitioners.DefaultPartitioner();
    let seed = 12345;
    // A small deterministic PRNG so a failure is reproducible.
    const next = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) | 0;
      return (seed >>> 8) & 0xffff;
    };
    for (let i = 0; i < 5000; i++) {
      const key = new Uint8Array(next() % 40);
      for (let j = 0; j < key.length; j++) key[j] = next() & 0xff;
      const partitions = (i % 64) + 1;
      const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
        partitionId,
        leader: 0,
        partitionErrorCode: 0,
        replicas: [0],
        isr: [0],
      }));
      const expected = kafkajs({
        topic: "t",
        partitionMetadata,
        message: { key: Buffer.from(key), value: null },
      });
      expect(partitionFor(key, partitions)).toBe(expected);
    }
  });

  test("hashes string keys as UTF-8, including non-ASCII", () => {
    for (const key of ["café", "日本語-42", "emoji-🐇", ""]) {
      for (let n = 1; n <= 64; n++) {
        expect(partitionForString(key, n)).toBe(partitionFor(utf8.encode(key), n));
      }
    }
  });

  test("rejects a partition count that is not a positive integer", () => {
    expect(() => partitionFor(utf8.encode("k"), 0)).toThrow(/expected an integer ≥ 1/);
    expect(() => partitionFor(utf8.encode("k"), 1.5)).toThrow(/partitions/);
  });
});
