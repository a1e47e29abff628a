import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { tempDirs } from "../../test/support/temp-dirs.ts";
import { openEmbeddedLog } from "./embedded/index.ts";
import type { Log, LogRecord } from "./log.ts";
import { partitionForString } from "./partitioner.ts";
import { RetryingProducer } from "./retrying-producer.ts";

const temp = tempDirs({ removeAfterAll: false });
afterAll(() => temp.removeAll());
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function record(key: string | null, value: string): LogRecord {
  return { key: key === null ? null : encoder.encode(key), value: encoder.encode(value) };
}

/** The log, with appends to the partitions in `refusing` failing as a full disk fails them. */
function refusingAppends(log: Log, refusing: Set<number>): Log {
  return new Proxy(log, {
    get(target, property, receiver) {
      if (property === "append") {
        return async (topic: string, partition: number, records: LogRecord[]) => {
          if (refusing.has(partition)) {
            throw Object.assign(new Error("ENOSPC: no space left on device, write"), {
              code: "ENOSPC",
            });
          }
          return target.append(topic, partition, records);
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

async function values(log: Log, topic: string, partition: number): Promise<string[]> {
  const records = await log.read(topic, partition, 0, 10_000);
  return records.map((r) => decoder.decode(r.value));
}

test("what a partition refuses is held and appended again, once, in order; the rest goes in at once", async () => {
  const log = await openEmbeddedLog({ dir: join(temp.make("coelho-retrying-"), "log") });
  try {
    await log.ensureTopic({ name: "events", partitions: 3 });
    const refusing = new Set<number>();
    const events: string[] = [];
    const producer = new RetryingProducer(refusingAppends(log, refusing), {
      onRefused: (error, held) => events.push(`refused ${held}: ${(error as Error).message}`),
      onRecovered: (attempts) => events.push(`recovered after ${attempts}`),
    });
    const keys = Array.from({ length: 30 }, (_, i) => `key-${i}`);
    const blocked = partitionForString("key-0", 3);
    const first = keys.map((key, i) => record(key, `first-${i}`));
    refusing.add(blocked);
    expect(await producer.produce([["events", first]])).toBe(false);
    expect(producer.pending).toBe(true);
    const onBlocked = first.filter(
      (r) => partitionForString(decoder.decode(r.key ?? new Uint8Array()), 3) === blocked,
    );
    expect(producer.heldRecords).toBe(onBlocked.length);
    // The other partitions have their share already; the blocked one has nothing.
    expect(await values(log, "events", blocked)).toEqual([]);
    await expect(producer.produce([["events", [record("key-1", "too soon")]]])).rejects.toThrow(
      /held/,
    );
    expect(await producer.retry()).toBe(false);
    refusing.clear();
    expect(await producer.retry()).toBe(true);
    expect(producer.pending).toBe(false);
    expect(await producer.produce([["events", [record("key-0", "after")]]])).toBe(true);

    for (let p = 0; p < 3; p++) {
      const expected = first
        .filter((r) => partitionForString(decoder.decode(r.key ?? new Uint8Array()), 3) === p)
        .map((r) => decoder.decode(r.value));
      if (p === blocked) expected.push("after");
      expect(await values(log, "events", p)).toEqual(expected);
    }
    expect(events).toEqual([
      `refused ${onBlocked.length}: ENOSPC: no space left on device, write`,
      "recovered after 2",
    ]);
  } finally {
    await log.close();
  }
});

test("records without a key go round-robin over the partitions", async () => {
  const log = await openEmbeddedLog({ dir: join(temp.make("coelho-retrying-"), "log") });
  try {
    await log.ensureTopic({ name: "unkeyed", partitions: 3 });
    const producer = new RetryingProducer(log);
    const batch = Array.from({ length: 7 }, (_, i) => record(null, `v${i}`));
    expect(await producer.produce([["unkeyed", batch]])).toBe(true);
    const counts = await Promise.all(
      [0, 1, 2].map(async (p) => (await values(log, "unkeyed", p)).length),
    );
    expect(counts).toEqual([3, 2, 2]);
  } finally {
    await log.close();
  }
});
