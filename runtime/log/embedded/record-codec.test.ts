import { describe, expect, test } from "bun:test";
import { ValidationError } from "../../errors.ts";
import type { LogRecord } from "../log.ts";
import {
  BatchEncoder,
  checkFrame,
  decodeFrame,
  FRAME_BYTES_MAX,
  FRAME_CORRUPT,
  FRAME_HEADER_BYTES,
  FRAME_INCOMPLETE,
} from "./record-codec.ts";
import { bytes, str } from "./test-support.ts";

function encodeOne(record: LogRecord, offset = 0, nowMs = 1): Uint8Array {
  return new BatchEncoder(64).encode([record], offset, nowMs).slice();
}

describe("record frames", () => {
  test("round-trip keys, null keys, values, headers and timestamps", () => {
    const records: LogRecord[] = [
      { key: bytes("card-1"), value: bytes("{}"), timestampMs: 1_700_000_000_123 },
      { key: null, value: new Uint8Array(0) },
      {
        key: new Uint8Array(0),
        value: bytes("v"),
        headers: { reason: "bad amount", "ü-ñ": "✓🐇" },
      },
      // Offsets and timestamps beyond 32 bits, and a time before the epoch.
      { key: bytes("k"), value: bytes("w"), timestampMs: -86_400_000 },
    ];
    const encoder = new BatchEncoder(16);
    const firstOffset = 2 ** 40;
    const encoded = encoder.encode(records, firstOffset, 42).slice();
    const view = new DataView(encoded.buffer);
    let position = 0;
    const decoded = records.map(() => {
      const frameBytes = checkFrame(encoded, view, position, encoded.length, true);
      expect(frameBytes).toBeGreaterThanOrEqual(FRAME_HEADER_BYTES);
      const record = decodeFrame(encoded, view, position);
      position += frameBytes;
      return record;
    });
    expect(position).toBe(encoded.length);
    expect(decoded.map((r) => r.offset)).toEqual([0, 1, 2, 3].map((i) => firstOffset + i));
    expect(decoded.map((r) => str(r.key))).toEqual(["card-1", null, "", "k"]);
    expect(decoded.map((r) => str(r.value))).toEqual(["{}", "", "v", "w"]);
    expect(decoded.map((r) => r.timestampMs)).toEqual([1_700_000_000_123, 42, 42, -86_400_000]);
    expect(decoded[2]?.headers).toEqual({ reason: "bad amount", "ü-ñ": "✓🐇" });
    expect(decoded[0]?.headers).toEqual({});
  });

  test("a frame cut short is incomplete; a flipped byte or garbage is corrupt", () => {
    const frame = encodeOne({ key: bytes("key"), value: bytes("some value") });
    const view = new DataView(frame.buffer);
    expect(checkFrame(frame, view, 0, frame.length, true)).toBe(frame.length);
    for (const cut of [0, 3, 8, frame.length - 1]) {
      expect(checkFrame(frame, view, 0, cut, true)).toBe(FRAME_INCOMPLETE);
    }
    const flipped = frame.slice();
    flipped[frame.length - 2] = (flipped[frame.length - 2] as number) ^ 0x40;
    expect(checkFrame(flipped, new DataView(flipped.buffer), 0, flipped.length, true)).toBe(
      FRAME_CORRUPT,
    );
    // Without the CRC check the same bytes pass: that is what verifyReads=false trades away.
    expect(checkFrame(flipped, new DataView(flipped.buffer), 0, flipped.length, false)).toBe(
      frame.length,
    );
    const zeros = new Uint8Array(64);
    expect(checkFrame(zeros, new DataView(zeros.buffer), 0, 64, true)).toBe(FRAME_CORRUPT);
  });

  test("invalid records are refused with the record's index, before anything is encoded", () => {
    const encoder = new BatchEncoder();
    const good = { key: null, value: bytes("ok") };
    expect(() =>
      encoder.encode([good, { key: null, value: "text" as unknown as Uint8Array }], 0, 1),
    ).toThrow(new ValidationError("records[1].value", "is not bytes; expected a Uint8Array"));
    expect(() => encoder.encode([{ ...good, timestampMs: 1.5 }], 0, 1)).toThrow(
      /records\[0\]\.timestampMs: 1.5 is not a whole number/,
    );
    expect(() =>
      encoder.encode([{ key: null, value: new Uint8Array(FRAME_BYTES_MAX) }], 0, 1),
    ).toThrow(/records\[0\]: key and value take/);
  });

  test("the encoder's buffer is reused and grows for big batches", () => {
    const encoder = new BatchEncoder(32);
    const big = encoder.encode([{ key: null, value: new Uint8Array(100_000) }], 0, 1);
    expect(big.length).toBe(FRAME_HEADER_BYTES + 100_000);
    const small = encoder.encode([{ key: null, value: bytes("x") }], 1, 1);
    expect(small.length).toBe(FRAME_HEADER_BYTES + 1);
  });
});
