/**
 * `bun run simulate -- fraud --platform-world`, the chart's demo traffic: into a log without
 * transactions it writes first the very history a platform's first champion is trained on
 * (`simulatedHistory` of the platform's world), then goes on at its rate; run again, it resumes
 * that world instead of writing a history again. Without it, a cluster's first champion was
 * served on cards with no past, as `bun start`'s was before (test/first-start.test.ts).
 */
import { expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { FRAUD_TRANSACTIONS_TOPIC } from "../models/fraud/entity.ts";
import { parseTransaction, type Transaction } from "../models/fraud/schema.ts";
import {
  SIMULATED_CARDS,
  SIMULATED_HISTORY_DAYS,
  SIMULATED_SEED,
} from "../models/fraud/simulator/platform-world.ts";
import { simulatedHistory } from "../models/fraud/train.ts";
import { cleanEnv } from "./support/platform-process.ts";
import { runToEnd } from "./support/run-to-end.ts";
import { tempDirs } from "./support/temp-dirs.ts";
import { readPartition, withLog } from "./support/with-log.ts";

setDefaultTimeout(180_000);

const ROOT = join(import.meta.dir, "..");
const DAY_MS = 86_400_000;
const temp = tempDirs();

function simulate(dataDir: string, ...args: string[]) {
  return simulateWith({}, dataDir, ...args);
}

function simulateWith(env: Record<string, string>, dataDir: string, ...args: string[]) {
  return runToEnd(["bun", join(ROOT, "models", "fraud", "simulate-cli.ts"), "fraud", ...args], {
    cwd: ROOT,
    // This process's environment without its COELHO_* settings, and the data folder.
    env: { ...cleanEnv(), COELHO_DATA_DIR: dataDir, COELHO_LOG_FSYNC: "never", ...env },
    timeoutMs: 150_000,
  });
}

function transactionsIn(dataDir: string): Promise<Transaction[]> {
  return withLog(dataDir, async (log) => {
    const out: Transaction[] = [];
    const partitions = await log.partitionCount(FRAUD_TRANSACTIONS_TOPIC);
    for (let partition = 0; partition < partitions; partition++) {
      const records = await readPartition(log, FRAUD_TRANSACTIONS_TOPIC, partition);
      for (const record of records) out.push(parseTransaction(record.value));
    }
    return out;
  });
}

test("--platform-world writes the history the platform trains on, then live traffic; a second run resumes it", async () => {
  const dataDir = temp.make("coelho-simulate-world-");

  const first = await simulate(dataDir, "--platform-world", "--rate", "2000", "--count", "500");
  expect(first.code).toBe(0);
  const from = /wrote the world's history: (\d+) transactions from (\S+);/.exec(first.stderr);
  if (!from) throw new Error(`no history line in: ${first.stderr}`);
  const historyStartMs = Date.parse(from[2] as string);
  const historyEndMs = historyStartMs + SIMULATED_HISTORY_DAYS * DAY_MS;
  // Its history ends when the run began.
  expect(Math.abs(historyEndMs - Date.now())).toBeLessThan(120_000);

  const logged = await transactionsIn(dataDir);
  const history = logged.filter((tx) => tx.timeMs < historyEndMs);
  const live = logged.filter((tx) => tx.timeMs >= historyEndMs);
  // What the platform's initial training simulates (models/fraud/index.ts), transaction for transaction.
  const trained = simulatedHistory({
    seed: SIMULATED_SEED,
    days: SIMULATED_HISTORY_DAYS,
    cards: SIMULATED_CARDS,
    startMs: historyStartMs,
  }).transactions;
  expect(history.length).toBe(trained.length);
  expect(Number(from[1])).toBe(trained.length);
  const trainedIds = new Set(trained.map((tx) => tx.transaction_id));
  expect(history.every((tx) => trainedIds.has(tx.transaction_id))).toBe(true);
  // The count is of live transactions, after the history.
  expect(live.length).toBe(500);

  const second = await simulate(dataDir, "--platform-world", "--rate", "2000", "--count", "300");
  expect(second.code).toBe(0);
  expect(second.stderr).toContain("going on after its last transaction");
  expect(second.stderr).not.toContain("wrote the world's history");
  const after = await transactionsIn(dataDir);
  expect(after.length).toBe(logged.length + 300);
  const lastBefore = Math.max(...logged.map((tx) => tx.timeMs));
  const seen = new Set(logged.map((tx) => tx.transaction_id));
  const added = after.filter((tx) => !seen.has(tx.transaction_id));
  expect(added.length).toBe(300);
  expect(added.every((tx) => tx.timeMs > lastBefore)).toBe(true);
});

test("--platform-world refuses the options that would make another world", async () => {
  const dataDir = temp.make("coelho-simulate-world-");
  const refused = await simulate(dataDir, "--platform-world", "--seed", "3", "--cards", "500");
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain(
    "--platform-world: --seed, --cards would make another world than the one the platform trains on",
  );
});

test("--platform-world with COELHO_SIMULATE_FROM: the history ends there, as the platform's does", async () => {
  const dataDir = temp.make("coelho-simulate-world-");
  const worldFrom = "2026-11-01T00:00:00Z";
  const run = await simulateWith(
    { COELHO_SIMULATE_FROM: worldFrom },
    dataDir,
    "--platform-world",
    "--rate",
    "2000",
    "--count",
    "100",
  );
  expect(run.code).toBe(0);
  const historyEndMs = Date.parse(worldFrom);
  expect(run.stderr).toContain(
    `transactions from ${new Date(historyEndMs - SIMULATED_HISTORY_DAYS * DAY_MS).toISOString()};`,
  );
  const logged = await transactionsIn(dataDir);
  expect(logged.filter((tx) => tx.timeMs >= historyEndMs)).toHaveLength(100);
  expect(Math.min(...logged.map((tx) => tx.timeMs))).toBeGreaterThanOrEqual(
    historyEndMs - SIMULATED_HISTORY_DAYS * DAY_MS,
  );
});
