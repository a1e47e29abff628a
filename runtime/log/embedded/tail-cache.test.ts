import { afterAll, expect, test } from "bun:test";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDirs } from "../../../test/support/temp-dirs.ts";
import type { LogRecord } from "../log.ts";
import { openEmbeddedLog } from "./index.ts";
import { TailCache } from "./tail-cache.ts";

const temp = tempDirs();
afterAll(() => temp.removeAll());

/** What a file would hold: bytes 0..n-1 with byte i = i % 251. */
function fileBytes(n: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = i % 251;
  return bytes;
}

test("holds the last bytes written, across the ring's wrap, and refuses what it no longer holds", () => {
  const file = fileBytes(10_000);
  const cache = new TailCache(1_000);
  cache.reset(0);
  // Writes of uneven sizes, one larger than the ring.
  let at = 0;
  for (const size of [300, 450, 700, 1_500, 13, 987, 1]) {
    cache.wrote(file.subarray(at, at + size), at);
    at += size;
  }
  const out = new Uint8Array(1_000);
  // Every range within the last 1,000 bytes reads back exactly, wrapped or not.
  for (const [from, length] of [
    [at - 1_000, 1_000],
    [at - 1, 1],
    [at - 600, 350],
    [at - 999, 998],
  ] as const) {
    out.fill(0);
    expect(cache.read(out, from, length)).toBe(true);
    expect(out.subarray(0, length)).toEqual(file.subarray(from, from + length));
  }
  // Older, or not yet written: not held, and nothing copied.
  out.fill(7);
  expect(cache.read(out, at - 1_001, 10)).toBe(false);
  expect(cache.read(out, at - 10, 11)).toBe(false);
  expect(out.every((b) => b === 7)).toBe(true);
});

test("starts over where a write does not follow what it holds, and holds nothing after a reset", () => {
  const file = fileBytes(5_000);
  const cache = new TailCache(1_000);
  cache.reset(100);
  cache.wrote(file.subarray(100, 600), 100);
  cache.wrote(file.subarray(2_000, 2_300), 2_000);
  const out = new Uint8Array(300);
  expect(cache.read(out, 100, 10)).toBe(false);
  expect(cache.read(out, 2_000, 300)).toBe(true);
  expect(out).toEqual(file.subarray(2_000, 2_300));
  cache.reset(2_300);
  expect(cache.read(out, 2_000, 300)).toBe(false);
  expect(() => new TailCache(0)).toThrow("expected a positive integer");
});

test("a log reads the same records with a tiny tail cache, across segment rolls and for a reader far behind", async () => {
  const encoder = new TextEncoder();
  const records = (from: number, n: number): LogRecord[] =>
    Array.from({ length: n }, (_, i) => ({
      key: encoder.encode(`k${(from + i) % 7}`),
      value: encoder.encode(`value ${from + i} ${"x".repeat((from + i) % 97)}`),
    }));
  async function readAll(tailCacheBytes: number) {
    const log = await openEmbeddedLog({
      dir: temp.make("coelho-tail-"),
      fsync: "never",
      segmentBytes: 8_192,
      tailCacheBytes,
    });
    await log.ensureTopic({ name: "t", partitions: 1 });
    const seen: string[] = [];
    let next = 0;
    for (let batch = 0; batch < 60; batch++) {
      await log.append("t", 0, records(batch * 10, 10));
      // A reader at the tail after every append; each read is what was just written.
      for (const r of await log.read("t", 0, next, 1_000)) {
        seen.push(`${r.offset}:${new TextDecoder().decode(r.value)}`);
        next = r.offset + 1;
      }
    }
    // A reader from the start: most of it is no longer in memory.
    const fromStart = (await log.read("t", 0, 0, 1_000)).map(
      (r) => `${r.offset}:${new TextDecoder().decode(r.value)}`,
    );
    await log.close();
    return { seen, fromStart };
  }
  const none = await readAll(0);
  const tiny = await readAll(2_000);
  const wide = await readAll(256 << 10);
  expect(none.seen).toHaveLength(600);
  expect(none.fromStart).toEqual(none.seen);
  expect(tiny).toEqual(none);
  expect(wide).toEqual(none);
  await expect(
    openEmbeddedLog({ dir: temp.make("coelho-tail-"), tailCacheBytes: -1 }),
  ).rejects.toThrow("tailCacheBytes");
});

test("what was just appended is read from memory: the file is not read again", async () => {
  const dir = temp.make("coelho-tail-");
  const log = await openEmbeddedLog({ dir, fsync: "never" });
  await log.ensureTopic({ name: "t", partitions: 1 });
  const encoder = new TextEncoder();
  await log.append("t", 0, [{ key: null, value: encoder.encode("first") }]);
  await log.append("t", 0, [{ key: null, value: encoder.encode("second") }]);
  // The file's bytes are overwritten behind the log's back: a read of the file would find
  // damage (a CRC mismatch), a read of the tail cache the records as appended.
  const partitionDir = join(dir, "topics", "t", "0");
  const segment = readdirSync(partitionDir).find((name) => name.endsWith(".log"));
  if (!segment) throw new Error("no segment file");
  writeFileSync(join(partitionDir, segment), new Uint8Array(64 << 10));
  const records = await log.read("t", 0, 0, 10);
  expect(records.map((r) => new TextDecoder().decode(r.value))).toEqual(["first", "second"]);
  await log.close();
});
