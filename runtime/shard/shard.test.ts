import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CounterState, counterModel } from "../../models/counter/model.ts";
import { counterRecord } from "../../models/counter/simulator.ts";
import { CheckpointStore } from "../checkpoint/store.ts";
import { CheckpointWriter } from "../checkpoint/writer.ts";
import { openEmbeddedLog } from "../log/embedded/index.ts";
import { silentLogger } from "../logger.ts";
import type { BatchProcessor, EntityModel } from "./entity-model.ts";
import { Shard, type ShardOptions } from "./shard.ts";

const dir = mkdtempSync(join(tmpdir(), "coelho-shard-"));
const writer = new CheckpointWriter();
afterAll(() => {
  writer.terminate();
  rmSync(dir, { recursive: true, force: true });
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
      expect(stored.get("k0")).toBe("1,1");
      expect(stored.get("k2999")).toBe("1,1");
    } finally {
      store.close();
    }
    await shard.close();
    await log.close();
  });
});
