/**
 * A world's history goes into an empty log first, as fast as the log takes it, and it is the very
 * history `simulatedHistory` gives the trainer: the first champion is served on cards whose states
 * saw the past it was trained on.
 */
import { expect, setDefaultTimeout, test } from "bun:test";
import { openEmbeddedLog } from "../../../runtime/log/embedded/index.ts";
import type { Log } from "../../../runtime/log/log.ts";
import { tempDirs } from "../../../test/support/temp-dirs.ts";
import { parseTransaction, type Transaction } from "../schema.ts";
import { simulatedHistory } from "../train.ts";
import { startFraudSimulator } from "./producer.ts";

setDefaultTimeout(120_000);

const temp = tempDirs();

const DAY_MS = 86_400_000;
const SEED = 5;
const CARDS = 200;
const DAYS = 4;
const START_MS = Date.UTC(2026, 0, 1);
/** Far below the history's ~2000 transactions a second: only a backfill can write it in time. */
const RATE = 50;

async function allTransactions(log: Log): Promise<Transaction[]> {
  const out: Transaction[] = [];
  for (let partition = 0; partition < 2; partition++) {
    const records = await log.read("tx", partition, 0, 100_000);
    out.push(...records.map((record) => parseTransaction(record.value)));
  }
  return out.sort((a, b) => a.timeMs - b.timeMs);
}

/** Starts the simulator with the history; resolves once it says the history is in the log. */
async function simulateWithHistory(
  log: Log,
): Promise<{ stop: () => Promise<void>; written: number; ms: number }> {
  const started = performance.now();
  let stop: () => Promise<void> = async () => {};
  const written = await new Promise<number>((resolve, reject) => {
    stop = startFraudSimulator({
      log,
      transactionsTopic: "tx",
      labelsTopic: "labels",
      partitions: 2,
      ratePerSecond: RATE,
      cards: CARDS,
      seed: SEED,
      history: { startMs: START_MS, untilMs: START_MS + DAYS * DAY_MS },
      onHistoryWritten: resolve,
      onError: reject,
    });
  });
  return { stop, written, ms: performance.now() - started };
}

test("an empty log gets the world's history first, fast, and it is the trainer's history; then the rate applies", async () => {
  const dir = temp.make("fraud-sim-history-");
  const log = await openEmbeddedLog({ dir, fsync: "never" });
  try {
    const trainer = simulatedHistory({ seed: SEED, cards: CARDS, days: DAYS, startMs: START_MS });
    const { stop, written, ms } = await simulateWithHistory(log);
    expect(written).toBe(trainer.transactions.length);
    // At the rate, ~2000 transactions would take 40 s.
    expect(ms).toBeLessThan(10_000);
    const history = await allTransactions(log);
    expect(history.map((tx) => tx.transaction_id)).toEqual(
      trainer.transactions.map((tx) => tx.transaction_id),
    );
    // The labels that arrived within the history are in the log too, and only those.
    let labels = 0;
    for (let partition = 0; partition < 2; partition++) {
      labels += (await log.read("labels", partition, 0, 100_000)).length;
    }
    const endMs = START_MS + DAYS * DAY_MS;
    expect(labels).toBe(trainer.labels.filter((label) => label.labelTimeMs < endMs).length);
    expect(labels).toBeGreaterThan(0);

    // Then the world goes on at the rate, after the history.
    await Bun.sleep(1_000);
    await stop();
    const after = (await allTransactions(log)).slice(written);
    expect(after.length).toBeGreaterThan(0);
    expect(after.length).toBeLessThanOrEqual(RATE * 2);
    for (const tx of after) expect(tx.timeMs).toBeGreaterThanOrEqual(START_MS + DAYS * DAY_MS);
  } finally {
    await log.close();
  }
});

test("a log that holds the world already gets no history again: the world resumes", async () => {
  const dir = temp.make("fraud-sim-history-");
  const log = await openEmbeddedLog({ dir, fsync: "never" });
  try {
    const first = await simulateWithHistory(log);
    await first.stop();
    const before = (await allTransactions(log)).length;
    let resumed = false;
    const stop = startFraudSimulator({
      log,
      transactionsTopic: "tx",
      labelsTopic: "labels",
      ratePerSecond: RATE,
      cards: CARDS,
      seed: SEED,
      history: { startMs: START_MS, untilMs: START_MS + DAYS * DAY_MS },
      onResume: () => {
        resumed = true;
      },
    });
    await Bun.sleep(1_000);
    await stop();
    expect(resumed).toBe(true);
    const added = (await allTransactions(log)).length - before;
    expect(added).toBeGreaterThan(0);
    expect(added).toBeLessThanOrEqual(RATE * 2);
  } finally {
    await log.close();
  }
});
