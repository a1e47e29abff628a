import { describe, expect, test } from "bun:test";
import type { LogRecord, StoredRecord } from "../log.ts";
import { bytes, readAll, segmentFiles, str, useTempLogs } from "./test-support.ts";

const logs = useTempLogs();

/** Round `round` of updates: one record per key k0..k19, value "k<i>@<round>". */
function updates(round: number): LogRecord[] {
  return Array.from({ length: 20 }, (_, i) => ({
    key: bytes(`k${i}`),
    value: bytes(`k${i}@${round}`.padEnd(60, ".")),
  }));
}

/** The latest value per key, as a reader replaying `records` in order would keep it. */
function latestByKey(records: StoredRecord[]): Map<string, string> {
  const latest = new Map<string, string>();
  for (const r of records) if (r.key) latest.set(str(r.key) as string, str(r.value) as string);
  return latest;
}

describe("embedded log: compaction", () => {
  test("keeps the latest record per key, with offsets unchanged, and survives reopen", async () => {
    const dir = logs.tempDir();
    let log = await logs.open({ dir, segmentBytes: 4096 });
    await log.ensureTopic({ name: "state.changelog", partitions: 1, compacted: true });
    for (let round = 0; round < 60; round++) {
      await log.append("state.changelog", 0, updates(round));
      if (round % 10 === 0) {
        await log.append("state.changelog", 0, [{ key: null, value: bytes(`unkeyed-${round}`) }]);
      }
    }
    const before = await readAll(log, "state.changelog", 0);
    const filesBefore = segmentFiles(dir, "state.changelog", 0).length;
    expect(await log.compact()).toBeGreaterThan(0);
    const after = await readAll(log, "state.changelog", 0);

    // Every record kept is a record that was written, at its own offset.
    const byOffset = new Map(before.map((r) => [r.offset, r]));
    for (const r of after) expect(str(r.value)).toBe(str(byOffset.get(r.offset)?.value ?? null));
    // Offsets still increase; the replayed state is the same; the history shrank.
    expect(after.every((r, i) => i === 0 || r.offset > (after[i - 1] as StoredRecord).offset)).toBe(
      true,
    );
    expect(latestByKey(after)).toEqual(latestByKey(before));
    expect(after.length).toBeLessThan(before.length / 3);
    expect(segmentFiles(dir, "state.changelog", 0).length).toBeLessThan(filesBefore);
    // Records without a key cannot be superseded and are all kept.
    expect(after.filter((r) => r.key === null).map((r) => str(r.value))).toEqual(
      [0, 10, 20, 30, 40, 50].map((round) => `unkeyed-${round}`),
    );
    // Read in small steps, as a consumer at the tail reads, over the gaps compaction left.
    const stepped: StoredRecord[] = [];
    for (let next = 0, step = 1; ; step = (step % 5) + 1) {
      const records = await log.read("state.changelog", 0, next, step);
      if (records.length === 0) break;
      stepped.push(...records);
      next = (records[records.length - 1] as StoredRecord).offset + 1;
    }
    expect(stepped.map((r) => r.offset)).toEqual(after.map((r) => r.offset));
    const end = await log.endOffset("state.changelog", 0);
    await log.close();

    log = await logs.open({ dir, segmentBytes: 4096 });
    expect(log.recovery).toEqual([]);
    expect(await log.endOffset("state.changelog", 0)).toBe(end);
    expect((await readAll(log, "state.changelog", 0)).map((r) => r.offset)).toEqual(
      after.map((r) => r.offset),
    );
    expect(await log.append("state.changelog", 0, updates(99))).toBe(end);
    expect(latestByKey(await readAll(log, "state.changelog", 0)).get("k3")).toStartWith("k3@99");
  });

  test("topics that are not compacted are never compacted", async () => {
    const log = await logs.open({ dir: logs.tempDir(), segmentBytes: 4096 });
    await log.ensureTopic({ name: "events", partitions: 1 });
    for (let round = 0; round < 30; round++) await log.append("events", 0, updates(round));
    expect(await log.compact()).toBe(0);
    expect((await readAll(log, "events", 0)).length).toBe(600);
  });
});
