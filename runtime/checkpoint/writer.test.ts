import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { counterModel } from "../../models/counter/model.ts";
import { counterRecord } from "../../models/counter/simulator.ts";
import { openEmbeddedLog } from "../log/embedded/index.ts";
import { silentLogger } from "../logger.ts";
import { packBytes, packStrings } from "../packed-strings.ts";
import { Shard } from "../shard/shard.ts";
import { BACKGROUND_NICE } from "../thread-priority.ts";
import { CheckpointStore } from "./store.ts";
import { CheckpointWriteError, CheckpointWriter } from "./writer.ts";

const dir = mkdtempSync(join(tmpdir(), "coelho-writer-"));
const writer = new CheckpointWriter();
const bytes = (text: string) => new TextEncoder().encode(text);
afterAll(() => {
  writer.terminate();
  rmSync(dir, { recursive: true, force: true });
});

describe("checkpoint writer (worker thread)", () => {
  test("writes land in order, in the file a main-thread store reads", async () => {
    const path = join(dir, "p0.sqlite");
    const first = writer.write(
      path,
      ["a", "b"],
      [bytes("1"), bytes("2")],
      [{ topic: "t", partition: 0, nextOffset: 2 }],
    );
    const second = writer.write(
      path,
      ["a"],
      [bytes("3")],
      [{ topic: "t", partition: 0, nextOffset: 3 }],
    );
    await Promise.all([first, second]);
    const store = new CheckpointStore(path);
    expect(store.lookup(["a", "b"])).toEqual(
      new Map([
        ["a", bytes("3")],
        ["b", bytes("2")],
      ]),
    );
    expect(store.position("t", 0)?.nextOffset).toBe(3);
    store.close();
    await writer.close(path);
  });

  test("packed states handed over move to the writer (not copied) and land", async () => {
    const path = join(dir, "handed-over.sqlite");
    const keys = packStrings(["a", "b"]);
    const states = packBytes([bytes("1"), bytes("2".repeat(100_000))]);
    await writer.writePacked(
      path,
      keys,
      states,
      [{ topic: "t", partition: 0, nextOffset: 2 }],
      true,
    );
    // Moved: this thread's views are detached.
    expect(states.bytes.byteLength).toBe(0);
    expect(keys.lengths.byteLength).toBe(0);
    const store = new CheckpointStore(path);
    expect(store.lookup(["a", "b"]).get("b")).toEqual(bytes("2".repeat(100_000)));
    store.close();
    await writer.close(path);
  });

  test.skipIf(process.platform !== "linux")(
    "runs at the lowest CPU priority, and the event loop keeps its own",
    async () => {
      await writer.sync();
      /** Nice value of each thread of this process named `name`, from /proc (field 19 of stat). */
      const niceOf = (name: string) =>
        readdirSync("/proc/self/task")
          .filter((tid) => readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim() === name)
          .map((tid) => {
            const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
            return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
          });
      expect(niceOf("Worker")).toContain(BACKGROUND_NICE);
      const mainStat = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
      expect(Number(mainStat.slice(mainStat.lastIndexOf(")") + 2).split(" ")[16])).toBe(0);
    },
  );

  test("sync resolves after every write posted before it", async () => {
    const path = join(dir, "p1.sqlite");
    const keys = Array.from({ length: 20_000 }, (_, i) => `k${i}`);
    let landed = false;
    const states = keys.map(bytes);
    writer
      .write(path, keys, states, [{ topic: "t", partition: 1, nextOffset: 20_000 }])
      .then(() => {
        landed = true;
      });
    await writer.sync();
    expect(landed).toBe(true);
    const store = new CheckpointStore(path);
    expect(store.count()).toBe(20_000);
    store.close();
    await writer.close(path);
  });

  test("a write that cannot be done fails with the file's name; other files go on", async () => {
    const blocker = join(dir, "not-a-folder");
    writeFileSync(blocker, "");
    const bad = join(blocker, "p0.sqlite");
    const error = await writer.write(bad, ["a"], [bytes("1")], []).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointWriteError);
    expect((error as Error).message).toContain(bad);
    const good = join(dir, "p2.sqlite");
    await writer.write(good, ["a"], [bytes("1")], [{ topic: "t", partition: 2, nextOffset: 1 }]);
    const store = new CheckpointStore(good);
    expect(store.count()).toBe(1);
    store.close();
    await writer.close(good);
  });
});

describe("a shard whose checkpoint write fails", () => {
  test("throws it at its next message, so its supervisor restarts it from the store", async () => {
    const log = await openEmbeddedLog({ dir: join(dir, "log"), fsync: "never" });
    const model = counterModel("writer.events");
    await log.ensureTopic({ name: model.inputTopic, partitions: 1 });
    await log.append(model.inputTopic, 0, [counterRecord("a", 1), counterRecord("b", 2)]);
    const failing = new CheckpointWriter();
    failing.writePacked = () => Promise.reject(new CheckpointWriteError("p0.sqlite", "disk full"));
    const shard = new Shard({
      model,
      log,
      partition: 0,
      storePath: join(dir, "failing", "p0.sqlite"),
      maxEntities: 100,
      idleMs: 60_000,
      checkpointIntervalMs: 0,
      checkpointMaxEvents: 1,
      batchMax: 100,
      writer: failing,
      logger: silentLogger,
    });
    await shard.restore();
    // The write starts in the background: applying the batch does not wait for it.
    await shard.apply(await log.read(model.inputTopic, 0, 0, 10));
    await failing.sync();
    await Bun.sleep(0);
    await expect(shard.maybeCheckpoint()).rejects.toThrow("disk full");
    expect(shard.status().checkpointedOffset).toBe(0);
    shard.abandon();
    await log.close();
  });
});
