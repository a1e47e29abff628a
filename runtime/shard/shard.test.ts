import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { type CounterState, counterModel } from "../../models/counter/model.ts";
import { counterRecord } from "../../models/counter/simulator.ts";
import { recordingLogger } from "../../test/support/recording-logger.ts";
import { tempDirs } from "../../test/support/temp-dirs.ts";
import { CheckpointStore } from "../checkpoint/store.ts";
import { CheckpointWriter } from "../checkpoint/writer.ts";
import { openEmbeddedLog } from "../log/embedded/index.ts";
import type { Log } from "../log/log.ts";
import { partitionForString } from "../log/partitioner.ts";
import { silentLogger } from "../logger.ts";
import type { BatchProcessor, EntityModel } from "./entity-model.ts";
import { Shard, type ShardOptions } from "./shard.ts";

const temp = tempDirs({ removeAfterAll: false });
const dir = temp.make("coelho-shard-");
const writer = new CheckpointWriter();
afterAll(async () => {
  writer.terminate();
  await temp.removeAll();
});

type CounterEvent = ReturnType<ReturnType<typeof counterModel>["decode"]>;

/** The counter model with an update in place, so a state encoded after its update would show it. */
function inPlaceCounter(
  topic: string,
  onUpdate = () => {},
): EntityModel<CounterState, CounterEvent> {
  return {
    ...counterModel(topic),
    updateInPlace: (state, event) => {
      onUpdate();
      state.count += 1;
      state.sum += event.value;
      return state;
    },
  };
}

/** A shard of partition 0 with long intervals, so only `checkpointMaxEvents` starts a checkpoint. */
function shardOf(
  options: Pick<ShardOptions<CounterState, CounterEvent>, "model" | "log" | "storePath"> &
    Partial<ShardOptions<CounterState, CounterEvent>>,
): Shard<CounterState, CounterEvent> {
  return new Shard({
    partition: 0,
    maxEntities: 10_000,
    idleMs: 60_000,
    checkpointIntervalMs: 60_000,
    checkpointMaxEvents: 1_000,
    batchMax: 10_000,
    writer,
    logger: silentLogger,
    ...options,
  });
}

describe("a shard whose model updates in place", () => {
  test("observers see each state before its event, and entity queries get a copy", async () => {
    const log = await openEmbeddedLog({ dir: join(dir, "log"), fsync: "never" });
    let inPlaceUpdates = 0;
    const model = inPlaceCounter("inplace.events", () => inPlaceUpdates++);
    const seen: string[] = [];
    const processor: BatchProcessor<CounterState, CounterEvent> = {
      onEvent: (key, before, event) =>
        seen.push(`${key}:${before.count}/${before.sum}+${event.value}`),
      flush: async () => {},
    };
    await log.ensureTopic({ name: model.inputTopic, partitions: 1 });
    await log.append(model.inputTopic, 0, [
      counterRecord("a", 1),
      counterRecord("a", 2),
      counterRecord("b", 5),
    ]);
    const shard = shardOf({ model, log, storePath: join(dir, "p0.sqlite"), processor });
    await shard.restore();
    await shard.apply(await log.read(model.inputTopic, 0, 0, 10));
    // Point in time: each event saw the state as the events before it left it.
    expect(seen).toEqual(["a:0/0+1", "a:1/1+2", "b:0/0+5"]);
    expect(inPlaceUpdates).toBe(3);
    const answered = shard.get("a");
    expect(answered).toEqual({ count: 2, sum: 3 });
    await log.append(model.inputTopic, 0, [counterRecord("a", 10)]);
    await shard.apply(await log.read(model.inputTopic, 0, 3, 10));
    // The answer given earlier is not changed by the later update.
    expect(answered).toEqual({ count: 2, sum: 3 });
    expect(shard.get("a")).toEqual({ count: 3, sum: 13 });
    await shard.close();
    await log.close();
  });
});

describe("a checkpoint encoded a slice at a time", () => {
  test("holds each state as of its positions, even when the next batch updates it meanwhile", async () => {
    const log = await openEmbeddedLog({ dir: join(dir, "slices-log"), fsync: "never" });
    const model = inPlaceCounter("slices.events");
    await log.ensureTopic({ name: model.inputTopic, partitions: 1 });
    const keys = Array.from({ length: 3000 }, (_, i) => `k${i}`);
    await log.append(
      model.inputTopic,
      0,
      keys.map((key) => counterRecord(key, 1)),
    );
    await log.append(model.inputTopic, 0, [counterRecord("k2999", 100)]);
    const storePath = join(dir, "slices.sqlite");
    const shard = shardOf({ model, log, storePath, checkpointMaxEvents: 3000 });
    await shard.restore();
    // 3000 changed states: the checkpoint encodes a first slice and yields; the next batch
    // (one event for the last key, not encoded yet) is applied before the encoding ends.
    await shard.apply(await log.read(model.inputTopic, 0, 0, 3000));
    await shard.apply(await log.read(model.inputTopic, 0, 3000, 1));
    expect(shard.get("k2999")).toEqual({ count: 2, sum: 101 });
    for (let i = 0; i < 100 && shard.status().checkpointedOffset < 3000; i++) await Bun.sleep(10);
    expect(shard.status().checkpointedOffset).toBe(3000);
    const store = new CheckpointStore(storePath);
    try {
      // The checkpoint includes offsets up to 3000: k2999 as the first 3000 events left it.
      expect(store.position(model.inputTopic, 0)?.nextOffset).toBe(3000);
      expect(store.count()).toBe(3000);
      const stored = store.lookup(["k0", "k2999"]);
      expect(stored.get("k0")).toEqual(new TextEncoder().encode("1,1"));
      expect(stored.get("k2999")).toEqual(new TextEncoder().encode("1,1"));
    } finally {
      store.close();
    }
    await shard.close();
    await log.close();
  });
});

describe("a shard reading two topics keyed alike", () => {
  test("keeps a position per topic: each record applied once across a restart, gaps filled from the log", async () => {
    const log = await openEmbeddedLog({ dir: join(dir, "two-topics-log"), fsync: "never" });
    const model = counterModel("two.a");
    const topics = ["two.a", "two.b"];
    for (const topic of topics) await log.ensureTopic({ name: topic, partitions: 1 });
    await log.append("two.a", 0, [counterRecord("k", 1), counterRecord("k", 2)]);
    await log.append("two.b", 0, [counterRecord("k", 10)]);
    const storePath = join(dir, "two-topics.sqlite");
    const shard = shardOf({ model, log, storePath, topics });
    await shard.restore();
    await shard.apply(await log.read("two.a", 0, 0, 10), "two.a");
    await shard.apply(await log.read("two.b", 0, 0, 10), "two.b");
    // Delivered again (a consumer that restarted behind the shard): skipped, per topic.
    await shard.apply(await log.read("two.a", 0, 0, 10), "two.a");
    expect(shard.get("k")).toEqual({ count: 3, sum: 13 });
    expect(shard.status().inputs.map((i) => [i.topic, i.nextOffset])).toEqual([
      ["two.a", 2],
      ["two.b", 1],
    ]);
    await expect(shard.apply([], "two.c")).rejects.toThrow('does not read topic "two.c"');
    await shard.close();

    // Restored, it reads each topic from its own position; a batch past a gap fills it.
    await log.append("two.b", 0, [counterRecord("k", 100), counterRecord("k", 1000)]);
    const restored = shardOf({ model, log, storePath, topics });
    await restored.restore();
    expect(restored.status().inputs.map((i) => [i.topic, i.nextOffset])).toEqual([
      ["two.a", 2],
      ["two.b", 1],
    ]);
    await restored.apply(await log.read("two.b", 0, 2, 10), "two.b");
    expect(restored.get("k")).toEqual({ count: 5, sum: 1113 });
    await restored.close();
    await log.close();
  });

  test("an unkeyed record whose entity belongs to another partition goes to the dead-letter topic", async () => {
    const log = await openEmbeddedLog({ dir: join(dir, "misrouted-log"), fsync: "never" });
    const model = counterModel("misrouted.events");
    await log.ensureTopic({ name: model.inputTopic, partitions: 2 });
    await log.ensureTopic({ name: "misrouted.events.dlq", partitions: 2 });
    // Two keys, one per partition of two; both written to partition 0 without a key.
    const keys = ["a", "b", "c", "d", "e"];
    const mine = keys.find((k) => partitionForString(k, 2) === 0) as string;
    const theirs = keys.find((k) => partitionForString(k, 2) === 1) as string;
    const unkeyed = (key: string) => ({ ...counterRecord(key, 1), key: null });
    await log.append(model.inputTopic, 0, [unkeyed(mine), unkeyed(theirs)]);
    const shard = shardOf({
      model,
      log,
      storePath: join(dir, "misrouted.sqlite"),
      partitionCount: 2,
    });
    await shard.restore();
    await shard.apply(await log.read(model.inputTopic, 0, 0, 10));
    expect(shard.get(mine)).toEqual({ count: 1, sum: 1 });
    expect(shard.get(theirs)).toBeNull();
    const letters = await log.read("misrouted.events.dlq", 0, 0, 10);
    expect(letters).toHaveLength(1);
    expect(letters[0]?.headers["coelho.dlq.reason"]).toContain(
      `entity "${theirs}" belongs to partition 1, not 0`,
    );
    await shard.close();
    await log.close();
  });
});

/** `log`, except that `whenVisible` waits for `gate()` (an fsync that has not returned yet). */
function withSlowFsync(log: Log, gate: () => Promise<void>): Log {
  return new Proxy(log, {
    get(target, property) {
      if (property === "whenVisible") return () => gate();
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

describe("a shard reading its input ahead of the fsync", () => {
  test("lets nothing a batch yields out before the batch is durable: dead letters, the processor's outputs, checkpoints", async () => {
    const log = await openEmbeddedLog({ dir: join(dir, "ahead-log"), fsync: "never" });
    const model = counterModel("ahead.events");
    await log.ensureTopic({ name: model.inputTopic, partitions: 1 });
    await log.ensureTopic({ name: "ahead.events.dlq", partitions: 1 });
    const bad = { key: new TextEncoder().encode("b"), value: new TextEncoder().encode("{") };
    await log.append(model.inputTopic, 0, [counterRecord("a", 1), bad, counterRecord("c", 2)]);
    let open = () => {};
    let fsync = Promise.resolve();
    const slowFsync = () => {
      fsync = new Promise<void>((resolve) => {
        open = resolve;
      });
    };
    let awaitInput = true;
    const processor: BatchProcessor<CounterState, CounterEvent> = {
      onEvent: () => {},
      // An output written after `inputVisible`, as the fraud scores are.
      flush: async (inputVisible) => {
        if (awaitInput) await inputVisible;
      },
    };
    const storePath = join(dir, "ahead.sqlite");
    const shard = shardOf({ model, log: withSlowFsync(log, () => fsync), storePath, processor });
    await shard.restore();

    slowFsync();
    let applied = false;
    const applying = shard.apply(await log.read(model.inputTopic, 0, 0, 10)).then(() => {
      applied = true;
    });
    await Bun.sleep(50);
    expect(applied).toBe(false);
    expect(await log.read("ahead.events.dlq", 0, 0, 10)).toHaveLength(0);
    open();
    await applying;
    expect(await log.read("ahead.events.dlq", 0, 0, 10)).toHaveLength(1);
    expect(shard.get("c")).toEqual({ count: 1, sum: 2 });

    // A checkpoint of records not yet durable waits for them; the shard goes on meanwhile.
    await shard.checkpoint();
    awaitInput = false;
    await log.append(model.inputTopic, 0, [counterRecord("d", 4)]);
    slowFsync();
    await shard.apply(await log.read(model.inputTopic, 0, 3, 10));
    let checkpointed = false;
    const checkpointing = shard.checkpoint().then(() => {
      checkpointed = true;
    });
    await Bun.sleep(50);
    expect(checkpointed).toBe(false);
    const reader = new CheckpointStore(storePath);
    expect(reader.position(model.inputTopic, 0)?.nextOffset).toBe(3);
    open();
    await checkpointing;
    expect(reader.position(model.inputTopic, 0)?.nextOffset).toBe(4);
    reader.close();
    await shard.close();
    await log.close();
  });
});

describe("a shard whose processor returns before its outputs are durable", () => {
  test("writes no checkpoint until they are: a crash must not skip inputs whose outputs it lost", async () => {
    const log = await openEmbeddedLog({ dir: join(dir, "outputs-log"), fsync: "never" });
    const model = counterModel("outputs.events");
    await log.ensureTopic({ name: model.inputTopic, partitions: 1 });
    let outputsDurable = () => {};
    let outputs = Promise.resolve();
    const processor: BatchProcessor<CounterState, CounterEvent> = {
      onEvent: () => {},
      flush: async () => {
        outputs = new Promise<void>((resolve) => {
          outputsDurable = resolve;
        });
      },
      outputsDurable: () => outputs,
    };
    const storePath = join(dir, "outputs.sqlite");
    const shard = shardOf({ model, log, storePath, processor });
    await shard.restore();
    await log.append(model.inputTopic, 0, [counterRecord("a", 1), counterRecord("b", 2)]);
    // The batch is applied and the shard free for the next, its outputs still in flight.
    await shard.apply(await log.read(model.inputTopic, 0, 0, 10));
    let checkpointed = false;
    const checkpointing = shard.checkpoint().then(() => {
      checkpointed = true;
    });
    await Bun.sleep(50);
    expect(checkpointed).toBe(false);
    const reader = new CheckpointStore(storePath);
    expect(reader.position(model.inputTopic, 0)).toBeNull();
    outputsDurable();
    await checkpointing;
    expect(reader.position(model.inputTopic, 0)?.nextOffset).toBe(2);
    reader.close();
    await shard.close();
    await log.close();
  });
});

/**
 * A processor that keeps a tally of the events it saw, journaled whole with each checkpoint (one
 * entry, dropping those before it), or one whose journal cannot be read back.
 */
function tallyProcessor(options: { failRestore?: boolean } = {}) {
  const state = { seen: 0, seq: 0, restoredFrom: [] as number[] };
  const processor: BatchProcessor<CounterState, CounterEvent> = {
    onEvent: () => {
      state.seen++;
    },
    flush: async () => {},
    checkpoint: () => {
      state.seq++;
      const bytes = new TextEncoder().encode(String(state.seen));
      return { seq: state.seq, bytes, keepFrom: state.seq, dropped: [] };
    },
    restore: (entries) => {
      state.seen = 0;
      state.seq = 0;
      state.restoredFrom = [];
      for (const { seq, bytes } of entries) {
        if (options.failRestore) throw new Error("entry 1: damaged");
        state.restoredFrom.push(seq);
        state.seen = Number(new TextDecoder().decode(bytes));
        state.seq = seq;
      }
    },
  };
  return { processor, state };
}

describe("a shard's processor journal", () => {
  test("is written with the checkpoint and read back at a restart: exactly once with the replay", async () => {
    const log = await openEmbeddedLog({ dir: join(dir, "journal-log"), fsync: "never" });
    const model = counterModel("journal.events");
    await log.ensureTopic({ name: model.inputTopic, partitions: 1 });
    await log.append(
      model.inputTopic,
      0,
      Array.from({ length: 2_500 }, (_, i) => counterRecord(`k${i % 7}`, 1)),
    );
    const storePath = join(dir, "journal.sqlite");
    const first = tallyProcessor();
    const shard = shardOf({ model, log, storePath, processor: first.processor });
    await shard.restore();
    // 2,500 events with a checkpoint every 1,000: the last 500 are not in one when it crashes.
    for (let offset = 0; offset < 2_500; offset += 500) {
      await shard.apply(await log.read(model.inputTopic, 0, offset, 500));
    }
    expect(first.state.seen).toBe(2_500);
    shard.abandon();

    const second = tallyProcessor();
    const again = shardOf({ model, log, storePath, processor: second.processor });
    await again.restore();
    // One entry kept (each drops those before it), holding the tally as of its positions.
    expect(second.state.restoredFrom).toHaveLength(1);
    const resumedAt = again.status().nextOffset;
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThan(2_500);
    expect(second.state.seen).toBe(resumedAt);
    await again.apply(await log.read(model.inputTopic, 0, again.status().nextOffset, 5_000));
    expect(second.state.seen).toBe(2_500);
    await again.close();
    await log.close();
  });

  test("a journal that cannot be read back is logged and dropped; the shard goes on with its states", async () => {
    const log = await openEmbeddedLog({ dir: join(dir, "bad-journal-log"), fsync: "never" });
    const model = counterModel("badjournal.events");
    await log.ensureTopic({ name: model.inputTopic, partitions: 1 });
    await log.append(model.inputTopic, 0, [counterRecord("a", 1), counterRecord("a", 2)]);
    const storePath = join(dir, "bad-journal.sqlite");
    const shard = shardOf({ model, log, storePath, processor: tallyProcessor().processor });
    await shard.restore();
    await shard.apply(await log.read(model.inputTopic, 0, 0, 10));
    await shard.close();

    const { logger, lines } = recordingLogger();
    const failing = tallyProcessor({ failRestore: true });
    const again = shardOf({ model, log, storePath, processor: failing.processor, logger });
    await again.restore();
    expect(lines.join("\n")).toContain("the processor's journal could not be restored");
    expect(again.get("a")).toEqual({ count: 2, sum: 3 });
    expect(failing.state.seen).toBe(0);
    // The unreadable entries are gone from the file: the next run reads only what follows.
    expect([...new CheckpointStore(storePath).journal()]).toEqual([]);
    await again.close();
    await log.close();
  });
});
