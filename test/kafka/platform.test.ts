/**
 * The platform against a real Kafka broker: exactly-once state under SIGKILL, a broker restart
 * mid-stream, unkeyed input re-keyed and counted exactly, and poison messages in the DLQ.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { KafkaLog } from "../../runtime/log/kafka/index.ts";
import {
  compareStates,
  type Expected,
  mergeExpected,
  readCheckpoints,
  writeCounterEvents,
} from "../support/counter-workload.ts";
import { openTestKafkaLog, restartBroker, uniqueName } from "../support/kafka-broker.ts";
import { runKillLoop } from "../support/kill-loop.ts";
import { startPlatform, waitFor } from "../support/platform-process.ts";
import { tempDirs } from "../support/temp-dirs.ts";

setDefaultTimeout(300_000);
const PARTITIONS = 4;

let brokers = "";
let log: KafkaLog;
const temp = tempDirs({ removeAfterAll: false });

beforeAll(async () => {
  ({ brokers, log } = await openTestKafkaLog("test"));
});

afterAll(async () => {
  await log?.close();
  await temp.removeAll();
});

async function sumEndOffsets(topic: string): Promise<number> {
  let total = 0;
  for (let p = 0; p < PARTITIONS; p++) total += await log.endOffset(topic, p);
  return total;
}

/** Dead letters of `topic`, deduplicated by source position, with their reasons. */
async function deadLetters(topic: string): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  for (let p = 0; p < PARTITIONS; p++) {
    const end = await log.endOffset(`${topic}.dlq`, p);
    for (let offset = 0; offset < end; ) {
      const records = await log.read(`${topic}.dlq`, p, offset, 1000);
      if (records.length === 0) break;
      for (const r of records) {
        const source = `${r.headers["coelho.dlq.partition"]}/${r.headers["coelho.dlq.offset"]}`;
        seen.set(source, r.headers["coelho.dlq.reason"] ?? "");
      }
      offset = (records[records.length - 1]?.offset ?? offset) + 1;
    }
  }
  return seen;
}

function expectExact(dataDir: string, topic: string, expected: Expected) {
  const all = new Map<string, { count: number; sum: number }>();
  let applied = 0;
  for (const { nextOffset, states } of readCheckpoints(dataDir, topic).values()) {
    applied += nextOffset;
    for (const [key, state] of states) all.set(key, state);
  }
  expect(compareStates(expected.states, all)).toEqual({
    lost: 0,
    doubled: 0,
    entities: expected.states.size,
    expectedEntities: expected.states.size,
  });
  return applied;
}

interface ShardsBody {
  shards: { checkpointedOffset: number }[];
}

function platformEnv(
  appId: string,
  topic: string,
  dataDir: string,
  more: Record<string, string> = {},
) {
  return {
    COELHO_KAFKA_BROKERS: brokers,
    COELHO_APP_ID: appId,
    COELHO_INSTANCE_ID: "solo",
    COELHO_DATA_DIR: dataDir,
    COELHO_PARTITIONS: String(PARTITIONS),
    COELHO_INPUT_TOPICS: `counter:${topic}`,
    COELHO_CHECKPOINT_INTERVAL_MS: "100",
    COELHO_CHECKPOINT_MAX_EVENTS: "5000",
    COELHO_BATCH_MAX: "500",
    COELHO_KAFKA_SESSION_TIMEOUT_MS: "6000",
    ...more,
  };
}

describe("the platform on Kafka", () => {
  test("exactly-once state under SIGKILL; poison messages land in the DLQ and the stream goes on", async () => {
    const appId = uniqueName("eos");
    const topic = `${appId}.events`;
    const dataDir = temp.make("coelho-kafka-eos-");
    await log.ensureTopic({ name: topic, partitions: PARTITIONS });
    const expected = await writeCounterEvents(log, topic, {
      events: 120_000,
      keys: 8_000,
      seed: 5,
      badEvery: 499,
    });
    const { progress } = await runKillLoop({
      label: "kafka eos",
      env: platformEnv(appId, topic, dataDir),
      endOffsets: () => sumEndOffsets(topic),
      partitions: PARTITIONS,
      kills: 4,
      seed: 9,
    });
    console.log(`kafka kill points (events applied): ${progress.join(", ")} of ${expected.total}`);
    expect(expectExact(dataDir, topic, expected)).toBe(expected.total);
    const dlq = await deadLetters(topic);
    expect(dlq.size).toBe(expected.bad);
    const reasons = [...dlq.values()];
    expect(reasons.some((r) => r.includes("not valid JSON"))).toBe(true);
    expect(reasons.some((r) => r.startsWith("value: expected a finite number"))).toBe(true);
    expect(reasons.some((r) => r.includes("bytes; expected at most 65536"))).toBe(true);
  });

  test("a broker restart mid-stream: processing resumes and nothing is lost", async () => {
    const appId = uniqueName("restart");
    const topic = `${appId}.events`;
    const dataDir = temp.make("coelho-kafka-restart-");
    await log.ensureTopic({ name: topic, partitions: PARTITIONS });
    const first = await writeCounterEvents(log, topic, {
      events: 40_000,
      keys: 3_000,
      seed: 15,
      badEvery: 1_000_003,
    });
    const run = startPlatform(platformEnv(appId, topic, dataDir));
    try {
      const applied = async () => {
        if (run.proc.exitCode !== null) throw new Error(`platform exited:\n${run.stderr()}`);
        const { body } = await run.get<ShardsBody>("/api/v1/shards");
        return body.shards.reduce((n, s) => n + s.checkpointedOffset, 0);
      };
      await waitFor("some progress before the restart", 60_000, async () =>
        (await applied()) > 5_000 ? true : undefined,
      );
      restartBroker();
      // More input after the restart: the platform must reconnect and take it too.
      const second = await writeCounterEvents(log, topic, {
        events: 20_000,
        keys: 3_000,
        seed: 16,
        badEvery: 1_000_003,
      });
      const total = first.total + second.total;
      let last = -1;
      await waitFor("every event checkpointed after the restart", 120_000, async () => {
        last = await applied();
        return last === total ? true : undefined;
      }).catch((error) => {
        const tail = run.stderr().trim().split("\n").slice(-25).join("\n");
        throw new Error(
          `${(error as Error).message}; checkpointed ${last} of ${total}; platform log tail:\n${tail}`,
        );
      });
      const ready = await run.get<{ status: string }>("/health/ready");
      expect(ready.body.status).toBe("ready");
      run.proc.kill("SIGTERM");
      expect(await run.proc.exited).toBe(0);
      const expected = mergeExpected(first, second);
      expect(expectExact(dataDir, topic, expected)).toBe(total);
    } finally {
      run.proc.kill("SIGKILL");
    }
  });

  test("unkeyed input is re-keyed by entity and counted exactly, across kills", async () => {
    const appId = uniqueName("rekey");
    const source = `${appId}.raw`;
    const dataDir = temp.make("coelho-kafka-rekey-");
    await log.ensureTopic({ name: source, partitions: PARTITIONS });
    const expected = await writeCounterEvents(log, source, {
      events: 60_000,
      keys: 4_000,
      seed: 21,
      unkeyed: true,
      badEvery: 701,
    });
    const repartition = `${appId}-counter-repartition`;
    await runKillLoop({
      label: "rekey",
      env: platformEnv(appId, `${appId}.events`, dataDir, {
        COELHO_UNKEYED_TOPICS: `counter:${source}`,
      }),
      // The shards are done only when the re-keying step has also committed all of the source:
      // until then the repartition topic is still growing and its end is not the end.
      endOffsets: async () => {
        let rekeyed = true;
        for (let p = 0; p < PARTITIONS; p++) {
          const committed = await log.committed(`${appId}-counter-rekey`, {
            topic: source,
            partition: p,
          });
          if (committed !== (await log.endOffset(source, p))) rekeyed = false;
        }
        const total = await sumEndOffsets(repartition).catch(() => 0);
        return rekeyed && total > 0 ? total : expected.total + 1 + total;
      },
      partitions: PARTITIONS,
      kills: 3,
      seed: 2,
    });
    expectExact(dataDir, repartition, expected);
    expect((await deadLetters(source)).size).toBe(expected.bad);
  });
});
