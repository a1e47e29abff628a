/**
 * Scale-out against a real broker: three processes share a keyed stream as one consumer group;
 * one is killed with SIGKILL mid-stream; its partitions move to the others, which restore them
 * from the changelog. At the end every entity equals the independent fold of the input, and an
 * entity query sent to any process is answered (forwarded to the owner when needed).
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import type { KafkaLog } from "../../runtime/log/kafka/index.ts";
import {
  type CounterState,
  compareStates,
  mergeExpected,
  readCheckpoints,
  writeCounterEvents,
} from "../support/counter-workload.ts";
import { openTestKafkaLog, uniqueName } from "../support/kafka-broker.ts";
import { type PlatformProcess, startPlatform, waitFor } from "../support/platform-process.ts";
import { tempDirs } from "../support/temp-dirs.ts";

setDefaultTimeout(300_000);
const PARTITIONS = 6;

let brokers = "";
let log: KafkaLog;
const temp = tempDirs({ removeAfterAll: false });
const running: PlatformProcess[] = [];

beforeAll(async () => {
  ({ brokers, log } = await openTestKafkaLog("scale"));
});

afterAll(async () => {
  for (const p of running) p.proc.kill("SIGKILL");
  await log?.close();
  await temp.removeAll();
});

interface ShardsBody {
  shards: { partition: number; nextOffset: number; checkpointedOffset: number }[];
  members: { instanceId: string; assignments: Record<string, number[]> }[];
}

test("three processes, one killed mid-stream: the others restore its partitions from the changelog, exactly", async () => {
  const appId = uniqueName("scale");
  const topic = `${appId}.events`;
  await log.ensureTopic({ name: topic, partitions: PARTITIONS });
  const instances = ["pod-0", "pod-1", "pod-2"].map((id) => {
    const dataDir = temp.make(`coelho-${id}-`);
    const proc = startPlatform({
      COELHO_KAFKA_BROKERS: brokers,
      COELHO_APP_ID: appId,
      COELHO_INSTANCE_ID: id,
      COELHO_DATA_DIR: dataDir,
      COELHO_PARTITIONS: String(PARTITIONS),
      COELHO_INPUT_TOPICS: `counter:${topic}`,
      COELHO_CHECKPOINT_INTERVAL_MS: "200",
      COELHO_BATCH_MAX: "500",
      COELHO_KAFKA_SESSION_TIMEOUT_MS: "6000",
    });
    running.push(proc);
    return { id, dataDir, platform: proc };
  });
  const shardsOf = async (p: PlatformProcess) => (await p.get<ShardsBody>("/api/v1/shards")).body;
  // All three own partitions before the stream starts.
  await waitFor("three members sharing the partitions", 90_000, async () => {
    const body = await shardsOf(instances[0]?.platform as PlatformProcess);
    const owning = body.members.filter((m) => (m.assignments.counter ?? []).length > 0);
    const owned = owning.reduce((n, m) => n + (m.assignments.counter?.length ?? 0), 0);
    return owning.length === 3 && owned === PARTITIONS ? true : undefined;
  });

  const first = await writeCounterEvents(log, topic, {
    events: 30_000,
    keys: 6_000,
    seed: 31,
    badEvery: 1_000_003,
  });
  const victim = instances[1];
  if (!victim) throw new Error("no victim");
  await waitFor("the victim applying part of its input", 60_000, async () => {
    const body = await shardsOf(victim.platform);
    return body.shards.some((s) => s.checkpointedOffset > 0) ? true : undefined;
  });
  victim.platform.proc.kill("SIGKILL");
  await victim.platform.proc.exited;
  const second = await writeCounterEvents(log, topic, {
    events: 30_000,
    keys: 6_000,
    seed: 32,
    badEvery: 1_000_003,
  });
  const expected = mergeExpected(first, second);
  const survivors = instances.filter((i) => i !== victim);

  let endTotal = 0;
  for (let p = 0; p < PARTITIONS; p++) endTotal += await log.endOffset(topic, p);
  await waitFor(
    "the survivors own every partition and have checkpointed everything",
    120_000,
    async () => {
      let total = 0;
      let owned = 0;
      for (const s of survivors) {
        const body = await shardsOf(s.platform);
        owned += body.shards.length;
        total += body.shards.reduce((n, x) => n + x.checkpointedOffset, 0);
      }
      return owned === PARTITIONS && total === endTotal ? true : undefined;
    },
  );

  // Any process answers for any entity, forwarding to the owner.
  await waitFor("ownership published after the rebalance", 30_000, async () => {
    const body = await shardsOf(survivors[0]?.platform as PlatformProcess);
    const live = body.members.filter((m) => m.instanceId !== victim.id);
    const owned = live.reduce((n, m) => n + (m.assignments.counter?.length ?? 0), 0);
    return owned === PARTITIONS ? true : undefined;
  });
  const sample = [...expected.states.keys()].slice(0, 60);
  const servedBy = new Set<string>();
  for (const s of survivors) {
    for (const key of sample) {
      const { status, body } = await s.platform.get<{ state: CounterState; instance: string }>(
        `/api/v1/entities/counter/${key}`,
      );
      expect(status).toBe(200);
      expect(body.state).toEqual(expected.states.get(key) as CounterState);
      servedBy.add(body.instance);
    }
  }
  expect(servedBy).toEqual(new Set(survivors.map((s) => s.id)));

  for (const s of survivors) s.platform.proc.kill("SIGTERM");
  for (const s of survivors) expect(await s.platform.proc.exited).toBe(0);
  // The victim's partitions were restored from the changelog by a survivor.
  const restoredFromChangelog = survivors.some((s) =>
    s.platform.stderr().includes("restored from the changelog"),
  );
  if (!restoredFromChangelog) {
    for (const s of survivors) {
      console.log(
        s.id,
        s.platform
          .stderr()
          .split("\n")
          .filter((l) => l.includes("restored") || l.includes("error"))
          .join("\n"),
      );
    }
  }
  expect(restoredFromChangelog).toBe(true);

  // Per partition, the checkpoint with the final position (the last owner's) holds its entities.
  const finalStates = new Map<string, CounterState>();
  const best = new Map<number, { nextOffset: number; states: Map<string, CounterState> }>();
  for (const { dataDir } of instances) {
    for (const [partition, cp] of readCheckpoints(dataDir, topic)) {
      if ((best.get(partition)?.nextOffset ?? -1) < cp.nextOffset) best.set(partition, cp);
    }
  }
  let applied = 0;
  for (const cp of best.values()) {
    applied += cp.nextOffset;
    for (const [key, state] of cp.states) finalStates.set(key, state);
  }
  expect(applied).toBe(endTotal);
  expect(compareStates(expected.states, finalStates)).toEqual({
    lost: 0,
    doubled: 0,
    entities: expected.states.size,
    expectedEntities: expected.states.size,
  });
});
