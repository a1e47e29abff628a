import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CounterState, counterModel } from "../../models/counter/model.ts";
import { counterRecord } from "../../models/counter/simulator.ts";
import { openEmbeddedLog } from "../log/embedded/index.ts";
import { silentLogger } from "../logger.ts";
import type { BatchProcessor, EntityModel } from "./entity-model.ts";
import { Shard } from "./shard.ts";

const dir = mkdtempSync(join(tmpdir(), "coelho-shard-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("a shard whose model updates in place", () => {
  test("observers see each state before its event, and entity queries get a copy", async () => {
    const log = await openEmbeddedLog({ dir: join(dir, "log"), fsync: "never" });
    const pure = counterModel("inplace.events");
    let inPlaceUpdates = 0;
    const model: EntityModel<CounterState, ReturnType<typeof pure.decode>> = {
      ...pure,
      updateInPlace: (state, event) => {
        inPlaceUpdates++;
        state.count += 1;
        state.sum += event.value;
        return state;
      },
    };
    const seen: string[] = [];
    const processor: BatchProcessor<CounterState, ReturnType<typeof pure.decode>> = {
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
    const shard = new Shard({
      model,
      log,
      partition: 0,
      storePath: join(dir, "p0.sqlite"),
      maxEntities: 100,
      idleMs: 60_000,
      checkpointIntervalMs: 60_000,
      checkpointMaxEvents: 1_000,
      batchMax: 100,
      processor,
      logger: silentLogger,
    });
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
