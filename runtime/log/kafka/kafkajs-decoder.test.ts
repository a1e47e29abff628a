/**
 * The kafkajs patch (patches/kafkajs@2.2.4.patch) decodes record timestamps and offsets with
 * Numbers where they are safe integers, instead of ~15 BigInt operations a record. These check
 * that it is applied (a fresh install must apply it) and that it decodes exactly what the BigInt
 * path does, at the edges too.
 */
import { describe, expect, test } from "bun:test";

const Decoder = require("kafkajs/src/protocol/decoder.js");
const Encoder = require("kafkajs/src/protocol/encoder.js");
const Long = require("kafkajs/src/utils/long.js");
const { RecordBatch } = require("kafkajs/src/protocol/recordBatch/v0/index.js");
const Record = require("kafkajs/src/protocol/recordBatch/record/v0/index.js");
const decodeRecordBatch = require("kafkajs/src/protocol/recordBatch/v0/decoder.js");

function varLongBytes(value: bigint): Buffer {
  return new Encoder().writeVarLong(Long.fromValue(value.toString())).buffer;
}

describe("kafkajs patch: record decoding without BigInt", () => {
  test("is applied", () => {
    expect(typeof new Decoder(Buffer.alloc(1)).readVarLongNumber).toBe("function");
  });

  test("varlongs decode to the same values as the BigInt path, or defer to it", () => {
    const values: bigint[] = [0n, 1n, -1n, 63n, -64n, 64n, -65n, 2n ** 48n - 1n, -(2n ** 48n)];
    values.push(2n ** 48n, -(2n ** 48n) - 1n, 2n ** 62n, -(2n ** 63n), 2n ** 63n - 1n);
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 20_000; i++) {
      values.push(BigInt(Math.floor((random() - 0.5) * 2 ** (1 + random() * 62))));
    }
    let fast = 0;
    for (const value of values) {
      const bytes = varLongBytes(value);
      const decoder = new Decoder(bytes);
      const number = decoder.readVarLongNumber();
      const decoded = number === null ? decoder.readVarLong().toString() : String(number);
      if (number !== null) fast++;
      expect(decoded).toBe(value.toString());
      expect(decoder.offset).toBe(bytes.length);
    }
    expect(fast).toBeGreaterThan(values.length / 2); // the fast path is the common one
  });

  test("a record batch decodes offsets and timestamps exactly, also past 2^53", async () => {
    for (const [firstOffset, firstTimestamp] of [
      ["0", "1700000000000"],
      ["1099511627776", "1700000000000"], // 2^40
      ["9007199254740990", "9007199254740990"], // sums cross 2^53: the BigInt path
      ["9223372036854775000", "-1"],
    ] as const) {
      const deltas = [0, 1, 2, 5, 300];
      const records = deltas.map((delta, i) =>
        Record({
          offsetDelta: delta,
          timestampDelta: Long.fromValue(i * 1_000 - 1),
          key: Buffer.from(`k${i}`),
          value: Buffer.from(`v${i}`),
        }),
      );
      const encoded = await RecordBatch({
        firstOffset: Long.fromValue(firstOffset),
        firstTimestamp: Long.fromValue(firstTimestamp),
        maxTimestamp: Long.fromValue(firstTimestamp),
        lastOffsetDelta: 300,
        records,
      });
      const batch = await decodeRecordBatch(new Decoder(encoded.buffer));
      expect(batch.records.map((r: { offset: string }) => r.offset)).toEqual(
        deltas.map((d) => (BigInt(firstOffset) + BigInt(d)).toString()),
      );
      expect(batch.records.map((r: { timestamp: string }) => r.timestamp)).toEqual(
        deltas.map((_, i) => (BigInt(firstTimestamp) + BigInt(i * 1_000 - 1)).toString()),
      );
      expect(batch.records.map((r: { value: Buffer }) => r.value.toString())).toEqual(
        deltas.map((_, i) => `v${i}`),
      );
    }
  });
});
