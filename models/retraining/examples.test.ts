import { expect, test } from "bun:test";
import { openEmbeddedLog } from "../../runtime/log/embedded/index.ts";
import type { LogRecord } from "../../runtime/log/log.ts";
import { tempDirs } from "../../test/support/temp-dirs.ts";
import { readExamples } from "./examples.ts";

const temp = tempDirs();
const encoder = new TextEncoder();
const T0 = Date.UTC(2025, 0, 1);
const MINUTE = 60_000;

/** An example as the serving path writes it, for a transaction at `timeMs`. */
function example(timeMs: number, cols = 3): LogRecord {
  const value = {
    features: Array.from({ length: cols }, (_, c) => timeMs / MINUTE + c),
    label: timeMs % 7 === 0 ? 1 : 0,
    score: 0.5,
    event_time: new Date(timeMs).toISOString(),
  };
  return { key: null, value: encoder.encode(JSON.stringify(value)) };
}

test("reads only the last rowsMax records of each partition and keeps the most recent by event time", async () => {
  const log = await openEmbeddedLog({ dir: temp.make("coelho-examples-"), fsync: "never" });
  try {
    await log.ensureTopic({ name: "examples", partitions: 2 });
    // Partition 0 holds minutes 0..999, partition 1 minutes 0.5..999.5; one row of another
    // width near the end of partition 1 is skipped.
    await log.append(
      "examples",
      0,
      Array.from({ length: 1000 }, (_, i) => example(T0 + i * MINUTE)),
    );
    await log.append("examples", 1, [
      ...Array.from({ length: 999 }, (_, i) => example(T0 + i * MINUTE + MINUTE / 2)),
      example(T0 + 5000 * MINUTE, 4),
    ]);
    const set = await readExamples({ log, topic: "examples", cols: 3, rowsMax: 300 });
    // Each partition was read from 300 records before its end, not from its start.
    expect(set.offsets).toEqual([
      { topic: "examples", partition: 0, fromOffset: 700, toOffset: 1000 },
      { topic: "examples", partition: 1, fromOffset: 700, toOffset: 1000 },
    ]);
    // The 300 most recent of the 599 read, in time order: minutes 849.5 to 999.
    expect(set.rows).toBe(300);
    expect(set.fromMs).toBe(T0 + 849.5 * MINUTE);
    expect(set.toMs).toBe(T0 + 999 * MINUTE);
    for (let r = 1; r < set.rows; r++) {
      expect(set.time[r] as number).toBeGreaterThan(set.time[r - 1] as number);
    }
    expect(set.x.length).toBe(300 * 3);
  } finally {
    await log.close();
  }
});

test("a bound that is not a positive integer is refused, naming it", async () => {
  const log = await openEmbeddedLog({ dir: temp.make("coelho-examples-"), fsync: "never" });
  try {
    await log.ensureTopic({ name: "examples", partitions: 1 });
    await expect(readExamples({ log, topic: "examples", cols: 3, rowsMax: 0 })).rejects.toThrow(
      "rowsMax",
    );
  } finally {
    await log.close();
  }
});
