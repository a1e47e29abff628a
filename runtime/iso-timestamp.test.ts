import { describe, expect, test } from "bun:test";
import { parseIsoTimestampMs } from "./iso-timestamp.ts";

describe("parseIsoTimestampMs", () => {
  test("agrees with Date for the forms producers send", () => {
    for (const text of [
      "2025-01-01T00:00:00Z",
      "2025-01-01T00:00:00.5Z",
      "2025-01-01T00:00:00.123Z",
      "2024-02-29T23:59:59.999999999Z",
      "2025-06-30T12:00:00+02:00",
      "2025-06-30T12:00:00-05:30",
    ]) {
      expect(parseIsoTimestampMs(text)).toBe(Date.parse(text.replace(/(\.\d{3})\d+/, "$1")));
    }
    expect(parseIsoTimestampMs("2025-01-01T00:00:00.123456+00:00")).toBe(
      Date.UTC(2025, 0, 1, 0, 0, 0, 123),
    );
  });

  test("rejects impossible dates and other shapes", () => {
    for (const text of [
      "2023-02-29T00:00:00Z",
      "2025-01-01T00:00:60Z",
      "2025-01-01T00:00:00.Z",
      "2026-02-30T00:00:00Z",
      "2026-04-31T00:00:00Z",
      "2026-01-01T24:00:00Z",
      "2026-01-01T23:59Z",
      "2026-01-01T00:00:00",
      "",
    ]) {
      expect(parseIsoTimestampMs(text)).toBeNaN();
    }
  });
});
