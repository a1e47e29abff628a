import { describe, expect, test } from "bun:test";
import type { LogRecord } from "../log.ts";
import { SEND_BYTES_MAX, sendChunks } from "./send-chunks.ts";

const record = (bytes: number, i: number): LogRecord => ({
  key: new TextEncoder().encode(`k${i}`),
  value: new Uint8Array(bytes),
  headers: { i: String(i) },
});

describe("sendChunks", () => {
  test("records that fit go in one request, the caller's array as it is", () => {
    const records = Array.from({ length: 100 }, (_, i) => record(500, i));
    const chunks = sendChunks(records);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).toBe(records);
    expect(sendChunks([])).toEqual([]);
  });

  test("a large batch is cut in order into chunks under the bound", () => {
    // 5,000 simulated transactions of ~600 bytes: ~3 MB, three times the broker's default limit.
    const records = Array.from({ length: 5_000 }, (_, i) => record(600, i));
    const chunks = sendChunks(records);
    expect(chunks.length).toBeGreaterThanOrEqual(6);
    expect(chunks.flat()).toEqual(records);
    for (const chunk of chunks) {
      const bytes = chunk.reduce(
        (sum, r) => sum + r.value.byteLength + (r.key?.byteLength ?? 0),
        0,
      );
      expect(bytes).toBeLessThanOrEqual(SEND_BYTES_MAX);
    }
  });

  test("a record above the bound goes alone, between the others", () => {
    const records = [record(10, 0), record(2_000, 1), record(10, 2)];
    expect(sendChunks(records, 1_000).map((c) => c.length)).toEqual([1, 1, 1]);
  });
});
