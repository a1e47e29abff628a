import { describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { ValidationError } from "../../errors.ts";
import { deadLetterTopic } from "../log.ts";
import { partitionForString } from "../partitioner.ts";
import { LogClosedError } from "./embedded-log.ts";
import {
  bytes,
  expectRecordMatches,
  readAll,
  recordsFrom,
  segmentFiles,
  str,
  useTempLogs,
} from "./test-support.ts";

const logs = useTempLogs();

describe("embedded log: append and read", () => {
  test("appends return consecutive offsets and read returns the same bytes", async () => {
    const log = await logs.open({ dir: logs.tempDir() });
    expect(log.kind).toBe("embedded");
    await log.ensureTopic({ name: "events", partitions: 3 });
    expect(await log.partitionCount("events")).toBe(3);
    expect(await log.append("events", 1, recordsFrom(0, 10))).toBe(0);
    expect(await log.append("events", 1, recordsFrom(10, 25))).toBe(10);
    expect(await log.append("events", 1, [])).toBe(35);
    expect(await log.endOffset("events", 1)).toBe(35);
    expect(await log.endOffset("events", 0)).toBe(0);
    const records = await log.read("events", 1, 0, 100);
    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 35 }, (_, i) => i));
    for (const record of records) expectRecordMatches(record);
  });

  test("reads from any offset, across segments, return exactly the records asked for", async () => {
    // Small segments so the 2000 records span many files.
    const dir = logs.tempDir();
    const log = await logs.open({ dir, segmentBytes: 8192 });
    await log.ensureTopic({ name: "t", partitions: 1 });
    for (let first = 0; first < 2000; first += 100) {
      await log.append("t", 0, recordsFrom(first, 100));
    }
    expect(segmentFiles(dir, "t", 0).length).toBeGreaterThan(10);
    for (const from of [0, 1, 99, 100, 777, 1234, 1999]) {
      for (const max of [1, 3, 250, 5000]) {
        const records = await log.read("t", 0, from, max);
        expect(records.length).toBe(Math.min(max, 2000 - from));
        records.forEach((record, i) => {
          expect(record.offset).toBe(from + i);
          expectRecordMatches(record);
        });
      }
    }
    expect(await log.read("t", 0, 2000, 10)).toEqual([]);
    expect(await log.read("t", 0, 5000, 10)).toEqual([]);
    expect(await log.read("t", 0, 10, 0)).toEqual([]);
  });

  test("many readers following the tail in small steps each see every record once, in order", async () => {
    // Segments read from where the last read ended (a remembered position per offset): with more
    // readers than it remembers and appends in between, every read must still start right.
    const dir = logs.tempDir();
    const log = await logs.open({ dir, segmentBytes: 16_384 });
    await log.ensureTopic({ name: "t", partitions: 1 });
    const readers = Array.from({ length: 100 }, (_, i) => ({ next: 0, step: 1 + (i % 7) }));
    let appended = 0;
    while (appended < 3000) {
      await log.append("t", 0, recordsFrom(appended, 37));
      appended += 37;
      for (const reader of readers) {
        const records = await log.read("t", 0, reader.next, reader.step);
        records.forEach((record, i) => {
          expect(record.offset).toBe(reader.next + i);
          expectRecordMatches(record);
        });
        reader.next += records.length;
      }
    }
    for (const reader of readers) {
      const rest = await log.read("t", 0, reader.next, 5000);
      expect(rest.map((r) => r.offset)).toEqual(
        Array.from({ length: appended - reader.next }, (_, i) => reader.next + i),
      );
    }
  });

  test("timestamps default to the clock at append; given ones are kept", async () => {
    let now = 1_000;
    const log = await logs.open({ dir: logs.tempDir(), nowMs: () => now });
    await log.ensureTopic({ name: "t", partitions: 1 });
    await log.append("t", 0, [{ key: null, value: bytes("a") }]);
    now = 2_000;
    await log.append("t", 0, [
      { key: null, value: bytes("b") },
      { key: null, value: bytes("c"), timestampMs: 5 },
    ]);
    const records = await log.read("t", 0, 0, 10);
    expect(records.map((r) => r.timestampMs)).toEqual([1_000, 2_000, 5]);
  });

  test("reopen after close keeps topics, records and offsets, and appends continue", async () => {
    const dir = logs.tempDir();
    let log = await logs.open({ dir, segmentBytes: 4096 });
    await log.ensureTopic({ name: "a", partitions: 2 });
    await log.ensureTopic({ name: "changelog", partitions: 1, compacted: true });
    await log.append("a", 0, recordsFrom(0, 300));
    await log.append("a", 1, recordsFrom(0, 7));
    await log.append("changelog", 0, recordsFrom(0, 3));
    await log.close();

    log = await logs.open({ dir, segmentBytes: 4096 });
    expect(log.recovery).toEqual([]);
    expect(await log.partitionCount("a")).toBe(2);
    expect(await log.partitionCount("changelog")).toBe(1);
    // An existing topic keeps its partition count.
    await log.ensureTopic({ name: "a", partitions: 8 });
    expect(await log.partitionCount("a")).toBe(2);
    expect(await log.endOffset("a", 0)).toBe(300);
    expect(await log.append("a", 0, recordsFrom(300, 50))).toBe(300);
    const all = await readAll(log, "a", 0);
    expect(all.length).toBe(350);
    all.forEach((record, i) => {
      expect(record.offset).toBe(i);
      expectRecordMatches(record);
    });
    expect((await readAll(log, "a", 1)).length).toBe(7);
  });

  test.each(["interval", "never"] as const)(
    "fsync=%s appends are readable at once and survive close",
    async (fsync) => {
      const dir = logs.tempDir();
      let log = await logs.open({ dir, fsync, fsyncIntervalMs: 5, segmentBytes: 4096 });
      await log.ensureTopic({ name: "t", partitions: 1 });
      for (let first = 0; first < 500; first += 50)
        await log.append("t", 0, recordsFrom(first, 50));
      expect((await readAll(log, "t", 0)).length).toBe(500);
      await log.close();
      log = await logs.open({ dir, fsync });
      const all = await readAll(log, "t", 0);
      expect(all.length).toBe(500);
      for (const record of all) expectRecordMatches(record);
    },
  );

  test.each(["always", "interval", "never"] as const)(
    "fsync=%s keeps about two open files per partition however many segments it has",
    async (fsync) => {
      if (!fs.existsSync("/proc/self/fd")) return;
      const openFiles = () => fs.readdirSync("/proc/self/fd").length;
      const before = openFiles();
      const dir = logs.tempDir();
      const log = await logs.open({ dir, fsync, segmentBytes: 4096 });
      await log.ensureTopic({ name: "t", partitions: 4 });
      for (let first = 0; first < 3000; first += 30) {
        await log.produce("t", recordsFrom(first, 30));
      }
      expect(segmentFiles(dir, "t", 0).length).toBeGreaterThan(10);
      for (let p = 0; p < 4; p++) {
        for (let i = 0; i < 50; i++) await log.read("t", p, (i * 137) % 700, 20);
      }
      // The active segment and one sealed segment being read, per partition.
      expect(openFiles() - before).toBeLessThanOrEqual(2 * 4);
    },
  );

  test("dead-letter topics are ordinary topics", async () => {
    const log = await logs.open({ dir: logs.tempDir() });
    const dlq = deadLetterTopic("fraud.events");
    await log.ensureTopic({ name: dlq, partitions: 1 });
    await log.append(dlq, 0, [{ key: null, value: bytes("{"), headers: { reason: "bad json" } }]);
    expect((await log.read(dlq, 0, 0, 1))[0]?.headers).toEqual({ reason: "bad json" });
  });

  test("bad input is a ValidationError that names the input", async () => {
    const log = await logs.open({ dir: logs.tempDir() });
    await log.ensureTopic({ name: "t", partitions: 2 });
    await expect(log.partitionCount("nope")).rejects.toThrow('topic: "nope" does not exist in');
    await expect(log.append("t", 2, [])).rejects.toThrow(
      'partition: 2 is not a partition of "t"; expected 0 to 1',
    );
    await expect(log.read("t", 0, -1, 10)).rejects.toBeInstanceOf(ValidationError);
    await expect(log.ensureTopic({ name: "a/b", partitions: 1 })).rejects.toThrow(/topic:/);
    await expect(log.ensureTopic({ name: "x", partitions: 0 })).rejects.toThrow(/partitions:/);
    await expect(
      log.append("t", 0, [
        { key: null, value: bytes("ok") },
        { key: "k" as never, value: bytes("v") },
      ]),
    ).rejects.toThrow("records[1].key");
    // The failed batch wrote nothing.
    expect(await log.endOffset("t", 0)).toBe(0);
    await expect(log.commit("g", { topic: "t", partition: 0 }, -1)).rejects.toThrow(/nextOffset/);
    await expect(logs.open({ dir: logs.tempDir(), fsync: "sometimes" as never })).rejects.toThrow(
      'fsync: "sometimes" is not a policy; expected always, interval or never',
    );
  });

  test("a closed log refuses calls with LogClosedError", async () => {
    const log = await logs.open({ dir: logs.tempDir() });
    await log.ensureTopic({ name: "t", partitions: 1 });
    await log.close();
    await log.close();
    await expect(log.append("t", 0, [])).rejects.toBeInstanceOf(LogClosedError);
    await expect(log.read("t", 0, 0, 1)).rejects.toBeInstanceOf(LogClosedError);
  });
});

describe("embedded log: produce", () => {
  test("a key always lands on partitionForString(key, n); null keys go round-robin", async () => {
    const log = await logs.open({ dir: logs.tempDir() });
    await log.ensureTopic({ name: "t", partitions: 5 });
    const keys = Array.from({ length: 200 }, (_, i) => `entity-${i}`);
    await log.produce(
      "t",
      keys.map((key) => ({ key: bytes(key), value: bytes(key) })),
    );
    await log.produce(
      "t",
      Array.from({ length: 50 }, (_, i) => ({ key: null, value: bytes(`null-${i}`) })),
    );
    const nullCounts: number[] = [];
    for (let p = 0; p < 5; p++) {
      const records = await readAll(log, "t", p);
      let nulls = 0;
      for (const record of records) {
        if (record.key === null) nulls++;
        else expect(partitionForString(str(record.key) as string, 5)).toBe(p);
      }
      nullCounts.push(nulls);
    }
    expect(nullCounts).toEqual([10, 10, 10, 10, 10]);
    // Every keyed record is somewhere, once.
    let keyed = 0;
    for (let p = 0; p < 5; p++) keyed += (await readAll(log, "t", p)).filter((r) => r.key).length;
    expect(keyed).toBe(200);
  });

  test("records of one key keep their order", async () => {
    const log = await logs.open({ dir: logs.tempDir() });
    await log.ensureTopic({ name: "t", partitions: 4 });
    for (let i = 0; i < 20; i++) {
      await log.produce("t", [{ key: bytes("card-7"), value: bytes(String(i)) }]);
    }
    const p = partitionForString("card-7", 4);
    expect((await readAll(log, "t", p)).map((r) => str(r.value))).toEqual(
      Array.from({ length: 20 }, (_, i) => String(i)),
    );
  });
});

describe("embedded log: recovery", () => {
  async function writeAndClose(dir: string, count: number, segmentBytes = 1 << 20) {
    const log = await logs.open({ dir, segmentBytes });
    await log.ensureTopic({ name: "t", partitions: 1 });
    for (let first = 0; first < count; first += 10)
      await log.append("t", 0, recordsFrom(first, 10));
    await log.close();
  }

  test("a segment cut in the middle of a record is truncated to its last whole record", async () => {
    const dir = logs.tempDir();
    await writeAndClose(dir, 100);
    const [file] = segmentFiles(dir, "t", 0) as [string];
    const size = fs.statSync(file).size;
    fs.truncateSync(file, size - 30);
    const log = await logs.open({ dir });
    expect(log.recovery).toHaveLength(1);
    expect(log.recovery[0]?.truncatedBytes).toBeGreaterThan(0);
    expect(await log.endOffset("t", 0)).toBe(99);
    const all = await readAll(log, "t", 0);
    expect(all.map((r) => r.offset)).toEqual(Array.from({ length: 99 }, (_, i) => i));
    for (const record of all) expectRecordMatches(record);
    // The log goes on from the repaired end, and reopens clean.
    expect(await log.append("t", 0, recordsFrom(99, 11))).toBe(99);
    await log.close();
    const again = await logs.open({ dir });
    expect(again.recovery).toEqual([]);
    const after = await readAll(again, "t", 0);
    expect(after.length).toBe(110);
    for (const record of after) expectRecordMatches(record);
  });

  test("garbage after the last record is cut off; every record survives", async () => {
    const dir = logs.tempDir();
    await writeAndClose(dir, 50);
    const [file] = segmentFiles(dir, "t", 0) as [string];
    const garbage = new Uint8Array(777);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 31 + 7) & 0xff;
    fs.appendFileSync(file, garbage);
    const log = await logs.open({ dir });
    expect(log.recovery[0]?.truncatedBytes).toBe(777);
    const all = await readAll(log, "t", 0);
    expect(all.length).toBe(50);
    for (const record of all) expectRecordMatches(record);
  });

  test("zeros after the last record (written ahead, then a crash) are cut off and nothing is reported lost", async () => {
    const dir = logs.tempDir();
    await writeAndClose(dir, 20);
    const [file] = segmentFiles(dir, "t", 0) as [string];
    fs.appendFileSync(file, new Uint8Array(4096));
    const log = await logs.open({ dir });
    expect(await log.endOffset("t", 0)).toBe(20);
    expect(log.recovery).toEqual([]);
  });

  test("the active segment is written with zeros ahead of its last record, and ends at it once closed", async () => {
    const dir = logs.tempDir();
    const log = await logs.open({ dir });
    await log.ensureTopic({ name: "t", partitions: 1 });
    await log.append("t", 0, recordsFrom(0, 10));
    const [file] = segmentFiles(dir, "t", 0) as [string];
    const open = fs.statSync(file).size;
    await log.append("t", 0, recordsFrom(10, 10));
    expect(fs.statSync(file).size).toBe(open); // written over the zeros, the file did not grow
    await log.close();
    const closed = fs.statSync(file).size;
    expect(closed).toBeLessThan(open);
    expect(
      fs
        .readFileSync(file)
        .subarray(closed - 4)
        .some((byte) => byte !== 0),
    ).toBe(true);
    const again = await logs.open({ dir });
    expect(again.recovery).toEqual([]);
    const all = await readAll(again, "t", 0);
    expect(all.map((record) => record.offset)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    for (const record of all) expectRecordMatches(record);
  });

  test("a sealed segment that still has its zeros (a crash as it was sealed) keeps the segments after it", async () => {
    const dir = logs.tempDir();
    await writeAndClose(dir, 400, 4096);
    const files = segmentFiles(dir, "t", 0);
    expect(files.length).toBeGreaterThan(3);
    fs.appendFileSync(files[1] as string, new Uint8Array(3000));
    const log = await logs.open({ dir, segmentBytes: 4096 });
    expect(log.recovery).toEqual([]);
    expect(segmentFiles(dir, "t", 0)).toEqual(files);
    const all = await readAll(log, "t", 0);
    expect(all.length).toBe(400);
    all.forEach((record, i) => {
      expect(record.offset).toBe(i);
      expectRecordMatches(record);
    });
  });

  test("a torn record followed by zeros is damage: cut to the last whole record and reported", async () => {
    const dir = logs.tempDir();
    await writeAndClose(dir, 100);
    const [file] = segmentFiles(dir, "t", 0) as [string];
    fs.truncateSync(file, fs.statSync(file).size - 30);
    fs.appendFileSync(file, new Uint8Array(4096));
    const log = await logs.open({ dir });
    expect(log.recovery).toHaveLength(1);
    expect(log.recovery[0]?.truncatedBytes).toBeGreaterThan(4096);
    expect(await log.endOffset("t", 0)).toBe(99);
  });

  test("a flipped byte in the tail segment drops that record and what follows it", async () => {
    const dir = logs.tempDir();
    await writeAndClose(dir, 30);
    const [file] = segmentFiles(dir, "t", 0) as [string];
    const data = fs.readFileSync(file);
    // Find record 20's value text and damage it.
    const at = data.indexOf("value-20-");
    data[at] = (data[at] as number) ^ 0xff;
    fs.writeFileSync(file, data);
    const log = await logs.open({ dir });
    expect(await log.endOffset("t", 0)).toBe(20);
    for (const record of await readAll(log, "t", 0)) expectRecordMatches(record);
  });

  test("a torn sealed segment is truncated and the segments after it are removed", async () => {
    const dir = logs.tempDir();
    await writeAndClose(dir, 400, 4096);
    const files = segmentFiles(dir, "t", 0);
    expect(files.length).toBeGreaterThan(3);
    const torn = files[1] as string;
    fs.truncateSync(torn, fs.statSync(torn).size - 10);
    const log = await logs.open({ dir, segmentBytes: 4096 });
    expect(log.recovery[0]?.removedSegments.length).toBe(files.length - 2);
    const all = await readAll(log, "t", 0);
    expect(all.length).toBe(await log.endOffset("t", 0));
    all.forEach((record, i) => {
      expect(record.offset).toBe(i);
      expectRecordMatches(record);
    });
    expect(segmentFiles(dir, "t", 0)).toEqual(files.slice(0, 2));
  });

  test("a corrupt record in a sealed segment fails the read that reaches it (CRC)", async () => {
    const dir = logs.tempDir();
    await writeAndClose(dir, 400, 4096);
    const first = segmentFiles(dir, "t", 0)[0] as string;
    const data = fs.readFileSync(first);
    const at = data.indexOf("value-3-");
    data[at] = (data[at] as number) ^ 0xff;
    fs.writeFileSync(first, data);
    const log = await logs.open({ dir, segmentBytes: 4096 });
    // Sealed segments are not CRC-scanned on open (that is the tail's job), so the log opens whole.
    expect(await log.endOffset("t", 0)).toBe(400);
    await expect(log.read("t", 0, 0, 10)).rejects.toThrow(
      /is corrupt \(bad length, layout or CRC\)/,
    );
    expect((await log.read("t", 0, 100, 10)).length).toBe(10);
  });
});

describe("embedded log: retention", () => {
  test("by size: old segments are deleted, startOffset advances and reads are clamped", async () => {
    const dir = logs.tempDir();
    const segmentBytes = 4096;
    const maxBytes = 3 * segmentBytes;
    const log = await logs.open({ dir, segmentBytes, retention: { maxBytes } });
    await log.ensureTopic({ name: "t", partitions: 1 });
    for (let first = 0; first < 2000; first += 20) {
      await log.append("t", 0, recordsFrom(first, 20));
      const files = segmentFiles(dir, "t", 0);
      const total = files.reduce((sum, file) => sum + fs.statSync(file).size, 0);
      expect(total).toBeLessThanOrEqual(maxBytes + segmentBytes);
    }
    const start = await log.startOffset("t", 0);
    expect(start).toBeGreaterThan(1000);
    expect(await log.endOffset("t", 0)).toBe(2000);
    const clamped = await log.read("t", 0, 0, 5);
    expect(clamped.map((r) => r.offset)).toEqual([
      start,
      start + 1,
      start + 2,
      start + 3,
      start + 4,
    ]);
    for (const record of clamped) expectRecordMatches(record);
    // The first remaining file is named by the start offset.
    expect(path.basename(segmentFiles(dir, "t", 0)[0] as string)).toBe(
      `${String(start).padStart(20, "0")}.log`,
    );
  });

  test("by age: segments whose last append is older than maxAgeMs are deleted", async () => {
    let now = 1_000_000;
    const dir = logs.tempDir();
    const log = await logs.open({
      dir,
      segmentBytes: 4096,
      retention: { maxAgeMs: 60_000 },
      nowMs: () => now,
    });
    await log.ensureTopic({ name: "t", partitions: 1 });
    for (let first = 0; first < 300; first += 10) await log.append("t", 0, recordsFrom(first, 10));
    const oldEnd = await log.endOffset("t", 0);
    expect(await log.enforceRetention()).toBe(0);
    now += 120_000;
    for (let first = 300; first < 400; first += 10)
      await log.append("t", 0, recordsFrom(first, 10));
    await log.enforceRetention();
    const start = await log.startOffset("t", 0);
    // Everything appended before the clock jump is gone, except what shares a segment with newer
    // records; nothing appended after it is.
    expect(start).toBeGreaterThan(0);
    expect(start).toBeLessThanOrEqual(oldEnd);
    expect(await log.endOffset("t", 0)).toBe(400);
    now += 120_000;
    await log.enforceRetention();
    // The active segment is never deleted, however old.
    expect(segmentFiles(dir, "t", 0).length).toBe(1);
    expect((await readAll(log, "t", 0)).length).toBeGreaterThan(0);
  });

  test("compacted topics are exempt from size and age retention", async () => {
    let now = 0;
    const dir = logs.tempDir();
    const log = await logs.open({
      dir,
      segmentBytes: 4096,
      retention: { maxBytes: 4096, maxAgeMs: 1 },
      nowMs: () => now,
    });
    await log.ensureTopic({ name: "state.changelog", partitions: 1, compacted: true });
    for (let first = 0; first < 500; first += 10) {
      await log.append("state.changelog", 0, recordsFrom(first, 10));
    }
    now += 1_000_000;
    expect(await log.enforceRetention()).toBe(0);
    expect(await log.startOffset("state.changelog", 0)).toBe(0);
    expect((await readAll(log, "state.changelog", 0)).length).toBe(500);
  });
});

describe("embedded log: group positions", () => {
  test("commit and committed survive a reopen; unknown positions are null", async () => {
    const dir = logs.tempDir();
    let log = await logs.open({ dir });
    await log.ensureTopic({ name: "t", partitions: 3 });
    expect(await log.committed("shards", { topic: "t", partition: 0 })).toBeNull();
    await log.commit("shards", { topic: "t", partition: 0 }, 42);
    await log.commit("shards", { topic: "t", partition: 0 }, 43);
    await log.commit("other group/ü", { topic: "t", partition: 2 }, 7);
    // Many commits at once share writes and all land.
    await Promise.all(
      [0, 1, 2].map((p) => log.commit("bulk", { topic: "t", partition: p }, 100 + p)),
    );
    await log.close();
    log = await logs.open({ dir });
    expect(await log.committed("shards", { topic: "t", partition: 0 })).toBe(43);
    expect(await log.committed("shards", { topic: "t", partition: 1 })).toBeNull();
    expect(await log.committed("other group/ü", { topic: "t", partition: 2 })).toBe(7);
    for (const p of [0, 1, 2]) {
      expect(await log.committed("bulk", { topic: "t", partition: p })).toBe(100 + p);
    }
  });

  test("a commit for a missing topic or partition is refused", async () => {
    const log = await logs.open({ dir: logs.tempDir() });
    await expect(log.commit("g", { topic: "none", partition: 0 }, 1)).rejects.toThrow(
      /does not exist/,
    );
    await expect(log.commit("", { topic: "none", partition: 0 }, 1)).rejects.toThrow(/group:/);
  });
});
