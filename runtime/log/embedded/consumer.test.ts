import { describe, expect, test } from "bun:test";
import type { PartitionListener, StoredRecord, TopicPartition } from "../log.ts";
import type { EmbeddedConsumer } from "./consumer.ts";
import type { EmbeddedLog, EmbeddedLogOptions } from "./embedded-log.ts";
import { expectRecordMatches, recordsFrom, useTempLogs } from "./test-support.ts";

const logs = useTempLogs();

type Event =
  | { kind: "assigned"; tp: string }
  | { kind: "batch"; tp: string; offsets: number[] }
  | { kind: "revoked"; tp: string };

const name = (tp: TopicPartition) => `${tp.topic}/${tp.partition}`;

/**
 * A listener that records every call, starts each partition where `startAt` says, and lets a test
 * wait until a condition on the records received holds.
 */
function recordingListener(startAt: (tp: TopicPartition) => number = () => 0) {
  const events: Event[] = [];
  const received = new Map<string, StoredRecord[]>();
  const checks: Array<{ holds: () => boolean; resolve: () => void }> = [];
  const recheck = () => {
    for (const check of [...checks]) {
      if (check.holds()) {
        checks.splice(checks.indexOf(check), 1);
        check.resolve();
      }
    }
  };
  let beforeBatch: (tp: TopicPartition) => Promise<void> = async () => {};
  const listener: PartitionListener = {
    async onAssigned(tp) {
      events.push({ kind: "assigned", tp: name(tp) });
      return startAt(tp);
    },
    async onBatch(tp, records) {
      await beforeBatch(tp);
      events.push({ kind: "batch", tp: name(tp), offsets: records.map((r) => r.offset) });
      received.set(name(tp), [...(received.get(name(tp)) ?? []), ...records]);
      recheck();
    },
    async onRevoked(tp) {
      events.push({ kind: "revoked", tp: name(tp) });
    },
  };
  return {
    listener,
    events,
    received: (tp: string) => received.get(tp) ?? [],
    /** Resolves once `holds()` is true after some batch (or at once). */
    until(holds: () => boolean): Promise<void> {
      if (holds()) return Promise.resolve();
      return new Promise((resolve) => checks.push({ holds, resolve }));
    },
    setBeforeBatch(hook: (tp: TopicPartition) => Promise<void>) {
      beforeBatch = hook;
    },
  };
}

async function logWithTopic(
  partitions: number,
  options: Pick<EmbeddedLogOptions, "onConsumerFailure"> = {},
): Promise<EmbeddedLog> {
  const log = await logs.open({ dir: logs.tempDir(), segmentBytes: 8192, ...options });
  await log.ensureTopic({ name: "in", partitions });
  return log;
}

/** Three records on partition 0, and group "g" consuming them with a listener that throws. */
async function consumerWhoseListenerThrows(log: EmbeddedLog, message: string) {
  await log.append("in", 0, recordsFrom(0, 3));
  const rec = recordingListener();
  rec.setBeforeBatch(async () => {
    throw new Error(message);
  });
  const consumer = (await log.consume({
    group: "g",
    topics: ["in"],
    listener: rec.listener,
    maxBatch: 10,
  })) as EmbeddedConsumer;
  return { rec, consumer };
}

/** A few macrotask turns: enough for every woken fetch loop to run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

describe("embedded consumer", () => {
  test("delivers every record once, in order, per partition, from the offset onAssigned returns", async () => {
    const log = await logWithTopic(3);
    for (const p of [0, 1, 2]) await log.append("in", p, recordsFrom(0, 500));
    const starts = [0, 123, 499];
    const rec = recordingListener((tp) => starts[tp.partition] as number);
    const consumer = await log.consume({
      group: "g",
      topics: ["in"],
      listener: rec.listener,
      maxBatch: 64,
    });
    expect(consumer.assignment()).toEqual(
      [0, 1, 2].map((partition) => ({ topic: "in", partition })),
    );
    const expectedCount = (p: number) => 500 - (starts[p] as number);
    await rec.until(() =>
      [0, 1, 2].every((p) => rec.received(`in/${p}`).length >= expectedCount(p)),
    );
    for (const p of [0, 1, 2]) {
      const records = rec.received(`in/${p}`);
      expect(records.map((r) => r.offset)).toEqual(
        Array.from({ length: expectedCount(p) }, (_, i) => (starts[p] as number) + i),
      );
      for (const record of records) expectRecordMatches(record);
    }
    const batches = rec.events.filter((e) => e.kind === "batch");
    expect(batches.every((b) => b.offsets.length >= 1 && b.offsets.length <= 64)).toBe(true);
    // The consumer did not commit: that is the caller's job after it checkpoints.
    expect(await log.committed("g", { topic: "in", partition: 0 })).toBeNull();
    await consumer.stop();
  });

  test("a start below the retained start is clamped up to it", async () => {
    const log = await logs.open({
      dir: logs.tempDir(),
      segmentBytes: 4096,
      retention: { maxBytes: 8192 },
    });
    await log.ensureTopic({ name: "in", partitions: 1 });
    for (let first = 0; first < 1000; first += 50)
      await log.append("in", 0, recordsFrom(first, 50));
    const start = await log.startOffset("in", 0);
    expect(start).toBeGreaterThan(0);
    const rec = recordingListener(() => 0);
    const consumer = await log.consume({
      group: "g",
      topics: ["in"],
      listener: rec.listener,
      maxBatch: 100,
    });
    await rec.until(() => rec.received("in/0").length >= 1000 - start);
    expect(rec.received("in/0")[0]?.offset).toBe(start);
    await consumer.stop();
  });

  test("wakes up for records appended after it caught up", async () => {
    const log = await logWithTopic(2);
    const rec = recordingListener();
    const consumer = await log.consume({
      group: "g",
      topics: ["in"],
      listener: rec.listener,
      maxBatch: 10,
    });
    await settle();
    expect(rec.events.filter((e) => e.kind === "batch")).toEqual([]);
    await log.append("in", 1, recordsFrom(0, 3));
    await rec.until(() => rec.received("in/1").length === 3);
    await log.append("in", 1, recordsFrom(3, 25));
    await log.produce(
      "in",
      recordsFrom(0, 1).map((r) => ({ ...r, key: null })),
    );
    await rec.until(() => rec.received("in/1").length >= 28);
    expect(
      rec
        .received("in/1")
        .map((r) => r.offset)
        .slice(0, 28),
    ).toEqual(Array.from({ length: 28 }, (_, i) => i));
    await consumer.stop();
  });

  test("reading ahead of the fsync: records arrive before they are durable, and whenVisible says when they are", async () => {
    const log = await logs.open({ dir: logs.tempDir(), fsync: "always" });
    await log.ensureTopic({ name: "in", partitions: 1 });
    /** At each delivery: had the append resolved, and how many records could `read` see. */
    const deliveries = (group: string, aheadOfFsync: boolean) => {
      const seen: { appendDone: boolean; readable: number; offsets: number[] }[] = [];
      const consumer = log.consume({
        group,
        topics: ["in"],
        maxBatch: 100,
        aheadOfFsync,
        listener: {
          onAssigned: async () => 0,
          onBatch: async (_tp, records) => {
            const readable = (await log.read("in", 0, 0, 100)).length;
            seen.push({ appendDone, readable, offsets: records.map((r) => r.offset) });
          },
          onRevoked: async () => {},
        },
      });
      return { seen, consumer };
    };
    let appendDone = false;
    const ahead = deliveries("ahead", true);
    const plain = deliveries("plain", false);
    await settle();
    const appended = log.append("in", 0, recordsFrom(0, 3)).then(() => {
      appendDone = true;
    });
    const visible = log.whenVisible("in", 0, 3);
    await visible;
    // Delivered at the write: before the fsync, so before `read` (and other readers) could see it.
    expect(ahead.seen[0]).toEqual({ appendDone: false, readable: 0, offsets: [0, 1, 2] });
    expect((await log.read("in", 0, 0, 100)).length).toBe(3);
    await appended;
    await settle();
    // Delivered once durable and visible to every reader.
    expect(plain.seen[0]).toMatchObject({ readable: 3, offsets: [0, 1, 2] });
    // Records already visible: at once. With fsync `interval` a record is visible when written.
    await log.whenVisible("in", 0, 1);
    const relaxed = await logs.open({ dir: logs.tempDir(), fsync: "interval" });
    await relaxed.ensureTopic({ name: "t", partitions: 1 });
    void relaxed.append("t", 0, recordsFrom(0, 2));
    expect((await relaxed.read("t", 0, 0, 10)).length).toBe(2);
    await relaxed.whenVisible("t", 0, 2);
    await (await ahead.consumer).stop();
    await (await plain.consumer).stop();
  });

  test("a replayable topic: readers see its records once written; whenVisible, the append and a stored group position wait for the fsync", async () => {
    const dir = logs.tempDir();
    let log = await logs.open({ dir, fsync: "always" });
    await log.ensureTopic({ name: "scores", partitions: 1, replayable: true });
    await log.ensureTopic({ name: "plain", partitions: 1 });
    const delivered: { appendDone: boolean; offsets: number[] }[] = [];
    const consumer = await log.consume({
      group: "reader",
      topics: ["scores"],
      maxBatch: 100,
      listener: {
        onAssigned: async () => 0,
        onBatch: async (_tp, records) => {
          delivered.push({ appendDone, offsets: records.map((r) => r.offset) });
        },
        onRevoked: async () => {},
      },
    });
    await settle();
    let appendDone = false;
    let durable = false;
    let stored = false;
    const appended = log.append("scores", 0, recordsFrom(0, 3)).then(() => {
      appendDone = true;
    });
    void log.append("plain", 0, recordsFrom(0, 3));
    const visible = log.whenVisible("scores", 0, 3).then(() => {
      durable = true;
    });
    const commit = log.commit("g", { topic: "scores", partition: 0 }, 3).then(() => {
      stored = true;
    });
    // Written, not yet fsynced: the replayable topic's readers see it, the plain one's do not.
    expect((await log.read("scores", 0, 0, 10)).length).toBe(3);
    expect((await log.read("plain", 0, 0, 10)).length).toBe(0);
    expect({ appendDone, durable, stored }).toEqual({
      appendDone: false,
      durable: false,
      stored: false,
    });
    expect(await log.committed("g", { topic: "scores", partition: 0 })).toBeNull();
    await Promise.all([appended, visible, commit]);
    expect(await log.committed("g", { topic: "scores", partition: 0 })).toBe(3);
    await settle();
    expect(delivered[0]).toEqual({ appendDone: false, offsets: [0, 1, 2] });
    await consumer.stop();
    await log.close();

    // Kept across a reopen; an existing topic asked to be replayable becomes one.
    log = await logs.open({ dir, fsync: "always" });
    void log.append("scores", 0, recordsFrom(3, 1));
    expect((await log.read("scores", 0, 0, 10)).length).toBe(4);
    await log.ensureTopic({ name: "plain", partitions: 1, replayable: true });
    void log.append("plain", 0, recordsFrom(3, 1));
    expect((await log.read("plain", 0, 0, 10)).length).toBe(4);
    await log.whenVisible("plain", 0, 4);
  });

  test("pause stops fetching a partition until resume; other partitions go on", async () => {
    const log = await logWithTopic(2);
    const rec = recordingListener();
    const consumer = await log.consume({
      group: "g",
      topics: ["in"],
      listener: rec.listener,
      maxBatch: 10,
    });
    consumer.pause({ topic: "in", partition: 0 });
    await log.append("in", 0, recordsFrom(0, 5));
    await log.append("in", 1, recordsFrom(0, 5));
    await rec.until(() => rec.received("in/1").length === 5);
    await settle();
    expect(rec.received("in/0")).toEqual([]);
    consumer.resume({ topic: "in", partition: 0 });
    await rec.until(() => rec.received("in/0").length === 5);
    // Unknown partitions are ignored rather than thrown at.
    consumer.pause({ topic: "other", partition: 9 });
    await consumer.stop();
  });

  test("stop waits for the batch in hand, then revokes every partition and leaves the group", async () => {
    const log = await logWithTopic(3);
    await log.append("in", 0, recordsFrom(0, 5));
    const rec = recordingListener();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let batchStarted: () => void = () => {};
    const started = new Promise<void>((resolve) => {
      batchStarted = resolve;
    });
    rec.setBeforeBatch(async (tp) => {
      if (tp.partition === 0) {
        batchStarted();
        await gate;
      }
    });
    const consumer = (await log.consume({
      group: "g",
      topics: ["in"],
      listener: rec.listener,
      maxBatch: 100,
    })) as EmbeddedConsumer;
    await started;
    let stopped = false;
    const stopping = consumer.stop().then(() => {
      stopped = true;
    });
    await settle();
    expect(stopped).toBe(false);
    expect(rec.events.some((e) => e.kind === "revoked")).toBe(false);
    release();
    await stopping;
    await consumer.done;
    const forP0 = rec.events.filter((e) => e.tp === "in/0").map((e) => e.kind);
    expect(forP0).toEqual(["assigned", "batch", "revoked"]);
    expect(
      rec.events
        .filter((e) => e.kind === "revoked")
        .map((e) => e.tp)
        .sort(),
    ).toEqual(["in/0", "in/1", "in/2"]);
    expect(consumer.assignment()).toEqual([]);
    // Nothing is delivered after stop, and the group is free for a new member.
    await log.append("in", 1, recordsFrom(0, 5));
    await settle();
    expect(rec.received("in/1")).toEqual([]);
    const again = await log.consume({
      group: "g",
      topics: ["in"],
      listener: rec.listener,
      maxBatch: 1,
    });
    await again.stop();
  });

  test("a group has one member at a time", async () => {
    const log = await logWithTopic(1);
    const consumer = await log.consume({
      group: "g",
      topics: ["in"],
      listener: recordingListener().listener,
      maxBatch: 1,
    });
    await expect(
      log.consume({
        group: "g",
        topics: ["in"],
        listener: recordingListener().listener,
        maxBatch: 1,
      }),
    ).rejects.toThrow(/already has a member/);
    await consumer.stop();
  });

  test("a listener that throws stops the consumer, which revokes everything and reports the error", async () => {
    const log = await logWithTopic(2);
    const { rec, consumer } = await consumerWhoseListenerThrows(log, "checkpoint store is down");
    await expect(consumer.done).rejects.toThrow("checkpoint store is down");
    expect(rec.events.filter((e) => e.kind === "revoked")).toHaveLength(2);
    await consumer.stop();
  });

  test("a consumer that stopped on its listener's error is reported to onConsumerFailure, so it can be started again", async () => {
    const failures: { group: string; message: string }[] = [];
    const log = await logWithTopic(1, {
      onConsumerFailure: (group, error) =>
        failures.push({ group, message: (error as Error).message }),
    });
    const { rec, consumer } = await consumerWhoseListenerThrows(log, "database or disk is full");
    await consumer.done.catch(() => {});
    await settle();
    expect(failures).toEqual([{ group: "g", message: "database or disk is full" }]);
    // Its group is free again: the supervisor's new member takes every partition.
    rec.setBeforeBatch(async () => {});
    const again = await log.consume({
      group: "g",
      topics: ["in"],
      listener: rec.listener,
      maxBatch: 10,
    });
    await rec.until(() => rec.received("in/0").length >= 3);
    await again.stop();
    // A consumer stopped on purpose is no failure.
    expect(failures).toHaveLength(1);
  });

  test("bad options are refused", async () => {
    const log = await logWithTopic(1);
    const listener = recordingListener().listener;
    await expect(
      log.consume({ group: "g", topics: ["in"], listener, maxBatch: 0 }),
    ).rejects.toThrow(/maxBatch: 0 is not a batch size/);
    await expect(
      log.consume({ group: "g", topics: ["missing"], listener, maxBatch: 1 }),
    ).rejects.toThrow(/"missing" does not exist/);
    await expect(log.consume({ group: "g", topics: [], listener, maxBatch: 1 })).rejects.toThrow(
      /topics: is empty/,
    );
  });

  test("close stops running consumers first; their onRevoked can still commit", async () => {
    const dir = logs.tempDir();
    const log = await logs.open({ dir });
    await log.ensureTopic({ name: "in", partitions: 2 });
    await log.append("in", 1, recordsFrom(0, 4));
    const rec = recordingListener();
    const position = new Map<number, number>();
    const listener: PartitionListener = {
      ...rec.listener,
      async onBatch(tp, records) {
        await rec.listener.onBatch(tp, records);
        position.set(tp.partition, (records[records.length - 1] as StoredRecord).offset + 1);
      },
      async onRevoked(tp) {
        await rec.listener.onRevoked(tp);
        // What a shard does on shutdown: checkpoint, then commit its position.
        const next = position.get(tp.partition);
        if (next !== undefined) await log.commit("g", tp, next);
      },
    };
    await log.consume({ group: "g", topics: ["in"], listener, maxBatch: 10 });
    await rec.until(() => rec.received("in/1").length === 4);
    await log.close();
    expect(rec.events.filter((e) => e.kind === "revoked")).toHaveLength(2);
    const reopened = await logs.open({ dir });
    expect(await reopened.committed("g", { topic: "in", partition: 1 })).toBe(4);
    expect(await reopened.committed("g", { topic: "in", partition: 0 })).toBeNull();
  });
});
