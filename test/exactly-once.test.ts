/**
 * Exactly-once state, proven the hard way: the platform runs as a child process over a few
 * hundred thousand events, is killed with SIGKILL at random points (mid-stream, and once while
 * it restores), restarted, and at the end every entity's state must equal a fold of the input
 * computed here, independently. Bad events go to the dead-letter topic and the stream goes on.
 */
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { seededRandom } from "../models/counter/simulator.ts";
import { openEmbeddedLog } from "../runtime/log/embedded/index.ts";
import type { LogRecord } from "../runtime/log/log.ts";
import { startPlatform, waitFor } from "./support/platform-process.ts";

const TOPIC = "counter.events";
const PARTITIONS = 4;
const encoder = new TextEncoder();

interface Expected {
  states: Map<string, { count: number; sum: number }>;
  badOffsets: number;
  total: number;
}

/** Writes the input and folds it here, with no runtime code, into the expected states. */
async function writeInput(
  dataDir: string,
  events: number,
  keys: number,
  seed: number,
): Promise<Expected> {
  const log = await openEmbeddedLog({ dir: join(dataDir, "log"), fsync: "never" });
  await log.ensureTopic({ name: TOPIC, partitions: PARTITIONS });
  const random = seededRandom(seed);
  const states = new Map<string, { count: number; sum: number }>();
  let badOffsets = 0;
  const batch: LogRecord[] = [];
  for (let i = 0; i < events; i++) {
    const key = `k${Math.floor(keys * random() ** 1.5)}`;
    const value = 1 + Math.floor(random() * 1000);
    let body: string;
    if (i % 997 === 13) {
      // One bad event in about a thousand, of three kinds.
      body =
        [`{"key":"${key}","value":`, `{"key":"${key}"}`, `{"key":"${key}","value":"7"}`][i % 3] ??
        "";
      badOffsets++;
    } else {
      body = JSON.stringify({ key, value });
      const state = states.get(key) ?? { count: 0, sum: 0 };
      states.set(key, { count: state.count + 1, sum: state.sum + value });
    }
    batch.push({ key: encoder.encode(key), value: encoder.encode(body) });
    if (batch.length === 10_000) await log.produce(TOPIC, batch.splice(0));
  }
  if (batch.length > 0) await log.produce(TOPIC, batch.splice(0));
  await log.close();
  return { states, badOffsets, total: events };
}

/** What the checkpoints on disk hold: positions and entity states, read with plain SQL. */
function readCheckpoints(dataDir: string) {
  const dir = join(dataDir, "state", "counter");
  const states = new Map<string, { count: number; sum: number }>();
  let applied = 0;
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".sqlite"));
  } catch {
    return { states, applied };
  }
  for (const file of files) {
    const db = new Database(join(dir, file), { readonly: true });
    const position = db.query("SELECT next_offset AS n FROM positions").get() as {
      n: number;
    } | null;
    applied += position?.n ?? 0;
    for (const row of db.query("SELECT key, state FROM entities").all() as {
      key: string;
      state: string;
    }[]) {
      const [count, sum] = row.state.split(",").map(Number);
      states.set(row.key, { count: count ?? Number.NaN, sum: sum ?? Number.NaN });
    }
    db.close();
  }
  return { states, applied };
}

interface ShardsBody {
  shards: { partition: number; nextOffset: number; checkpointedOffset: number }[];
}

async function runWithKills(label: string, env: Record<string, string>, seed: number) {
  const dataDir = mkdtempSync(join(tmpdir(), `coelho-eos-${label}-`));
  dirs.push(dataDir);
  const expected = await writeInput(dataDir, 300_000, 20_000, seed);
  const random = seededRandom(seed * 31 + 1);
  const baseEnv = {
    COELHO_DATA_DIR: dataDir,
    COELHO_PARTITIONS: String(PARTITIONS),
    COELHO_CHECKPOINT_INTERVAL_MS: "50",
    COELHO_CHECKPOINT_MAX_EVENTS: "7000",
    COELHO_BATCH_MAX: "500",
    ...env,
  };
  const progress: number[] = [];
  // Kill 1: during startup and restore, before or while shards open their checkpoints.
  {
    const run = startPlatform(baseEnv);
    await Bun.sleep(50 + Math.floor(random() * 250));
    run.proc.kill("SIGKILL");
    await run.proc.exited;
    progress.push(readCheckpoints(dataDir).applied);
  }
  // Kills 2..6: mid-stream, each when the applied count passes a random point further on.
  for (let kill = 0; kill < 5; kill++) {
    const run = startPlatform(baseEnv);
    const target = expected.total * ((kill + random()) / 6);
    await waitFor(`${label}: progress past ${Math.round(target)}`, 60_000, async () => {
      if (run.proc.exitCode !== null) throw new Error(`platform exited early:\n${run.stderr()}`);
      const { body } = await run.get<ShardsBody>("/api/v1/shards");
      const applied = body.shards.reduce((n, s) => n + s.nextOffset, 0);
      return body.shards.length === PARTITIONS && applied >= target ? applied : undefined;
    });
    run.proc.kill("SIGKILL");
    await run.proc.exited;
    progress.push(readCheckpoints(dataDir).applied);
  }
  // Last run: to the end, then a graceful stop.
  const run = startPlatform(baseEnv);
  await waitFor(`${label}: every event applied and checkpointed`, 120_000, async () => {
    const { body } = await run.get<ShardsBody>("/api/v1/shards");
    const done = body.shards.reduce((n, s) => n + s.checkpointedOffset, 0);
    return body.shards.length === PARTITIONS && done === expected.total ? true : undefined;
  });
  // The API answers from the owner's memory; sample a few entities there too.
  const sample = [...expected.states.keys()].slice(0, 25);
  for (const key of sample) {
    const { status, body } = await run.get<{ state: unknown }>(`/api/v1/entities/counter/${key}`);
    expect(status).toBe(200);
    expect(body.state).toEqual(expected.states.get(key));
  }
  run.proc.kill("SIGTERM");
  expect(await run.proc.exited).toBe(0);
  return { dataDir, expected, progress, stderr: run.stderr() };
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function expectExact(result: Awaited<ReturnType<typeof runWithKills>>) {
  const { states, applied } = readCheckpoints(result.dataDir);
  expect(applied).toBe(result.expected.total);
  let lost = 0;
  let doubled = 0;
  for (const [key, want] of result.expected.states) {
    const got = states.get(key);
    if (!got || got.count < want.count) lost++;
    else if (got.count > want.count || got.sum !== want.sum) doubled++;
  }
  expect({ lost, doubled, entities: states.size }).toEqual({
    lost: 0,
    doubled: 0,
    entities: result.expected.states.size,
  });
  // The kills really landed mid-stream: progress strictly between nothing and everything.
  const midStream = result.progress.filter((p) => p > 0 && p < result.expected.total).length;
  expect(midStream).toBeGreaterThanOrEqual(3);
}

async function deadLetters(dataDir: string) {
  const log = await openEmbeddedLog({ dir: join(dataDir, "log"), fsync: "never" });
  const seen = new Map<string, string>();
  for (let p = 0; p < PARTITIONS; p++) {
    for (const r of await log.read(`${TOPIC}.dlq`, p, 0, 100_000)) {
      seen.set(
        `${r.headers["coelho.dlq.partition"]}/${r.headers["coelho.dlq.offset"]}`,
        r.headers["coelho.dlq.reason"] ?? "",
      );
    }
  }
  await log.close();
  return seen;
}

describe("exactly-once state under SIGKILL", () => {
  test("every entity equals the independent fold after six kills and restarts", async () => {
    const result = await runWithKills("plain", {}, 11);
    console.log(
      `kill points (events checkpointed): ${result.progress.join(", ")} of ${result.expected.total}`,
    );
    expectExact(result);
    // Bad events: each one is in the dead-letter topic (at least once, deduplicated by source).
    const dlq = await deadLetters(result.dataDir);
    expect(dlq.size).toBe(result.expected.badOffsets);
    const reasons = [...dlq.values()];
    expect(reasons.some((r) => r.includes("not valid JSON"))).toBe(true);
    expect(reasons.some((r) => r.startsWith("value: expected a finite number"))).toBe(true);
  }, 300_000);

  test("passivation: with 150 entities per shard for 20k keys, results are still exact", async () => {
    const result = await runWithKills("passivating", { COELHO_MAX_ENTITIES_PER_SHARD: "150" }, 23);
    expectExact(result);
  }, 300_000);
});
