/**
 * Helpers for the embedded log's tests: a fresh folder per test under the OS temp folder, logs that
 * are closed after each test, and records whose bytes are a function of their offset, so a reader
 * can check it got exactly the right bytes back.
 */
import { afterEach } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { LogRecord, StoredRecord } from "../log.ts";
import { type EmbeddedLog, type EmbeddedLogOptions, openEmbeddedLog } from "./embedded-log.ts";

const utf8 = new TextEncoder();
const text = new TextDecoder();

export function bytes(value: string): Uint8Array {
  return utf8.encode(value);
}

export function str(value: Uint8Array | null): string | null {
  return value === null ? null : text.decode(value);
}

/**
 * The record expected at `offset` in tests that check bytes: every 7th has a null key, every 5th has
 * headers, and the value length varies so frames are not all the same size.
 */
export function recordFor(offset: number): LogRecord {
  const record: LogRecord = {
    key: offset % 7 === 0 ? null : bytes(`key-${offset % 97}`),
    value: bytes(`value-${offset}-${"x".repeat(offset % 50)}`),
    timestampMs: 1_700_000_000_000 + offset,
  };
  if (offset % 5 === 0) record.headers = { offset: String(offset), note: "héllo ✓" };
  return record;
}

/** Records for offsets `first` .. `first + count - 1`. */
export function recordsFrom(first: number, count: number): LogRecord[] {
  return Array.from({ length: count }, (_, i) => recordFor(first + i));
}

/** Throws (with the offset) unless `record` is exactly {@link recordFor} its offset. */
export function expectRecordMatches(record: StoredRecord): void {
  const expected = recordFor(record.offset);
  const mismatch =
    str(record.key) !== str(expected.key) ||
    str(record.value) !== str(expected.value) ||
    record.timestampMs !== expected.timestampMs ||
    JSON.stringify(record.headers) !== JSON.stringify(expected.headers ?? {});
  if (mismatch) {
    throw new Error(
      `record at offset ${record.offset} differs: got ${JSON.stringify({
        key: str(record.key),
        value: str(record.value),
        headers: record.headers,
        timestampMs: record.timestampMs,
      })}`,
    );
  }
}

/**
 * Registers per-test cleanup and returns helpers: `tempDir()` makes a folder removed after the test,
 * `open()` opens a log that is closed after the test (if the test did not close it).
 */
export function useTempLogs() {
  const dirs: string[] = [];
  const logs: EmbeddedLog[] = [];
  afterEach(async () => {
    await Promise.allSettled(logs.splice(0).map((log) => log.close()));
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    tempDir(): string {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "coelho-log-test-"));
      dirs.push(dir);
      return dir;
    },
    async open(options: EmbeddedLogOptions): Promise<EmbeddedLog> {
      const log = await openEmbeddedLog(options);
      logs.push(log);
      return log;
    },
  };
}

/** Segment files of a partition, oldest first (full paths). */
export function segmentFiles(dir: string, topic: string, partition: number): string[] {
  const partitionDir = path.join(dir, "topics", topic, String(partition));
  return fs
    .readdirSync(partitionDir)
    .filter((name) => name.endsWith(".log"))
    .sort()
    .map((name) => path.join(partitionDir, name));
}

/** Reads a whole partition from its start. */
export async function readAll(
  log: EmbeddedLog,
  topic: string,
  partition: number,
): Promise<StoredRecord[]> {
  const all: StoredRecord[] = [];
  let from = await log.startOffset(topic, partition);
  for (;;) {
    const batch = await log.read(topic, partition, from, 10_000);
    if (batch.length === 0) return all;
    all.push(...batch);
    from = (batch[batch.length - 1] as StoredRecord).offset + 1;
  }
}
