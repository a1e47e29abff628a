/**
 * Exactly-once state, proven the hard way: the platform runs as a child process over a few
 * hundred thousand events, is killed with SIGKILL at random points (mid-stream, and once while
 * it restores), restarted, and at the end every entity's state must equal a fold of the input
 * computed here, independently. Bad events go to the dead-letter topic and the stream goes on.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { openEmbeddedLog } from "../runtime/log/embedded/index.ts";
import {
  type CounterState,
  compareStates,
  type Expected,
  readCheckpoints,
  writeCounterEvents,
} from "./support/counter-workload.ts";
import { runKillLoop } from "./support/kill-loop.ts";
import { startPlatform } from "./support/platform-process.ts";
import { tempDirs } from "./support/temp-dirs.ts";

// Hooks start servers, processes or big fixtures: bunfig's timeout covers tests, not hooks (5 s).
setDefaultTimeout(120_000);

const TOPIC = "counter.events";
const PARTITIONS = 4;
const temp = tempDirs();

async function withLog<T>(
  dataDir: string,
  use: (log: Awaited<ReturnType<typeof openEmbeddedLog>>) => Promise<T>,
) {
  const log = await openEmbeddedLog({ dir: join(dataDir, "log"), fsync: "never" });
  try {
    return await use(log);
  } finally {
    await log.close();
  }
}

/** Runs the kill loop over 300k events and returns what the test checks. */
async function runWithKills(label: string, more: Record<string, string>, seed: number) {
  const dataDir = temp.make(`coelho-eos-${label}-`);
  const expected = await withLog(dataDir, async (log) => {
    await log.ensureTopic({ name: TOPIC, partitions: PARTITIONS });
    return writeCounterEvents(log, TOPIC, {
      events: 300_000,
      keys: 20_000,
      seed,
      oversizedBytes: 70_000,
    });
  });
  const env = {
    COELHO_DATA_DIR: dataDir,
    COELHO_PARTITIONS: String(PARTITIONS),
    COELHO_CHECKPOINT_INTERVAL_MS: "50",
    COELHO_CHECKPOINT_MAX_EVENTS: "7000",
    COELHO_BATCH_MAX: "500",
    ...more,
  };
  // Kill 0: during startup and restore, before or while the shards open their checkpoints.
  const early = startPlatform(env);
  await Bun.sleep(50 + (seed % 7) * 40);
  early.proc.kill("SIGKILL");
  await early.proc.exited;
  // The log is locked while the platform runs, so the end offsets are known from the input.
  const { progress } = await runKillLoop({
    label,
    env,
    endOffsets: async () => expected.total,
    partitions: PARTITIONS,
    kills: 5,
    seed: seed * 31 + 1,
    whileUp: async (run) => {
      // The API answers from the owner's memory; sample a few entities there too.
      for (const key of [...expected.states.keys()].slice(0, 25)) {
        const { status, body } = await run.get<{ state: unknown }>(
          `/api/v1/entities/counter/${key}`,
        );
        expect(status).toBe(200);
        expect(body.state).toEqual(expected.states.get(key) as CounterState);
      }
    },
  });
  return { dataDir, expected, progress };
}

function expectExact(dataDir: string, expected: Expected, progress: number[]) {
  const states = new Map<string, CounterState>();
  let applied = 0;
  for (const cp of readCheckpoints(dataDir, TOPIC).values()) {
    applied += cp.nextOffset;
    for (const [key, state] of cp.states) states.set(key, state);
  }
  expect(applied).toBe(expected.total);
  expect(compareStates(expected.states, states)).toEqual({
    lost: 0,
    doubled: 0,
    entities: expected.states.size,
    expectedEntities: expected.states.size,
  });
  // The kills really landed mid-stream: progress strictly between nothing and everything.
  expect(progress.filter((p) => p > 0 && p < expected.total).length).toBeGreaterThanOrEqual(3);
}

/** Dead letters deduplicated by their source position, with their reasons. */
async function deadLetters(dataDir: string): Promise<Map<string, string>> {
  return withLog(dataDir, async (log) => {
    const seen = new Map<string, string>();
    for (let p = 0; p < PARTITIONS; p++) {
      for (const r of await log.read(`${TOPIC}.dlq`, p, 0, 100_000)) {
        const source = `${r.headers["coelho.dlq.partition"]}/${r.headers["coelho.dlq.offset"]}`;
        seen.set(source, r.headers["coelho.dlq.reason"] ?? "");
      }
    }
    return seen;
  });
}

describe("exactly-once state under SIGKILL", () => {
  test("every entity equals the independent fold after six kills and restarts", async () => {
    const { dataDir, expected, progress } = await runWithKills("plain", {}, 11);
    console.log(`kill points (events applied): ${progress.join(", ")} of ${expected.total}`);
    expectExact(dataDir, expected, progress);
    // Bad events: each one is in the dead-letter topic (at least once, deduplicated by source).
    const dlq = await deadLetters(dataDir);
    expect(dlq.size).toBe(expected.bad);
    const reasons = [...dlq.values()];
    expect(reasons.some((r) => r.includes("not valid JSON"))).toBe(true);
    expect(reasons.some((r) => r.startsWith("value: expected a finite number"))).toBe(true);
    expect(reasons.some((r) => r.includes("bytes; expected at most 65536"))).toBe(true);
  }, 300_000);

  test("passivation: with 150 entities per shard for 20k keys, results are still exact", async () => {
    const { dataDir, expected, progress } = await runWithKills(
      "passivating",
      { COELHO_MAX_ENTITIES_PER_SHARD: "150" },
      23,
    );
    expectExact(dataDir, expected, progress);
  }, 300_000);
});
