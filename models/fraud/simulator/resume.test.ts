/**
 * A simulator started again on a log that holds its world goes on with that world: the shards
 * keep every card's state across a restart, so a card's transactions must never go back in
 * event time, and no transaction id may come twice.
 */
import { expect, setDefaultTimeout, test } from "bun:test";
import { openEmbeddedLog } from "../../../runtime/log/embedded/index.ts";
import type { Log } from "../../../runtime/log/log.ts";
import { tempDirs } from "../../../test/support/temp-dirs.ts";
import { parseTransaction, type Transaction } from "../schema.ts";
import { findResumePoint, type ResumePoint } from "./resume.ts";
import { FraudSimulation } from "./simulation.ts";
import { runSimulatorFor } from "./test-support.ts";

setDefaultTimeout(120_000);

const temp = tempDirs();

const PARTITIONS = 2;
const CARDS = 300;
const SEED = 11;
/** ~5 simulated days of 300 cards: a restart at wall-clock time would go back days. */
const PER_RUN = 4000;

/** Runs the simulator on `log` for `count` transactions (from `startMs` if given). */
async function runSimulator(
  log: Log,
  count: number,
  startMs?: number,
): Promise<ResumePoint | null> {
  const { resumed } = await runSimulatorFor(count, {
    log,
    transactionsTopic: "tx",
    labelsTopic: "labels",
    partitions: PARTITIONS,
    ratePerSecond: 40_000,
    cards: CARDS,
    seed: SEED,
    startMs,
  });
  return resumed;
}

/** Every transaction of the topic, partition by partition in log order. */
async function transactions(log: Log): Promise<Transaction[][]> {
  const out: Transaction[][] = [];
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const records = await log.read("tx", partition, 0, 100_000);
    out.push(records.map((record) => parseTransaction(record.value)));
  }
  return out;
}

test("a simulator started again goes on with the world in the log: time moves on for every card, ids are new, accounts keep their age", async () => {
  const dir = temp.make("fraud-sim-resume-");
  const log = await openEmbeddedLog({ dir, fsync: "never" });
  try {
    expect(await runSimulator(log, PER_RUN)).toBeNull();
    const first = (await transactions(log)).flat();
    const firstEnd = await findResumePoint(log, "tx");
    expect(firstEnd).not.toBeNull();
    // The first run spans days of event time: going back to the wall clock would be visible.
    const lastMs = Math.max(...first.map((tx) => tx.timeMs));
    expect(lastMs - Math.min(...first.map((tx) => tx.timeMs))).toBeGreaterThan(3 * 86_400_000);

    const resumedAt = await runSimulator(log, PER_RUN);
    expect(resumedAt).toEqual(firstEnd);
    const all = await transactions(log);
    expect(all.flat().length).toBe(2 * PER_RUN);

    // Time never goes back for a card (a partition holds each card's transactions in order).
    for (const partition of all) {
      const lastByCard = new Map<string, Transaction>();
      for (const tx of partition) {
        const previous = lastByCard.get(tx.card_id ?? "");
        if (previous) {
          expect(tx.timeMs).toBeGreaterThanOrEqual(previous.timeMs);
          // Accounts keep their age (to the day: the world's start is known to the first gap).
          expect(tx.account_age_days).toBeGreaterThanOrEqual(previous.account_age_days - 1);
        }
        lastByCard.set(tx.card_id ?? "", tx);
      }
    }
    // New transactions, of the same cards.
    const ids = new Set(all.flat().map((tx) => tx.transaction_id));
    expect(ids.size).toBe(2 * PER_RUN);
    const world = new Set(
      new FraudSimulation({ seed: SEED, cards: CARDS }).world.cards.map((card) => card.cardId),
    );
    const resumedCards = all.flat().filter((tx) => tx.timeMs > lastMs);
    expect(resumedCards.length).toBe(PER_RUN);
    for (const tx of resumedCards) expect(world.has(tx.card_id ?? "")).toBe(true);
  } finally {
    await log.close();
  }
});

test("started again, the same log gives the same continuation; an explicit start ignores the log", async () => {
  const runs: string[][] = [];
  for (let i = 0; i < 2; i++) {
    const dir = temp.make("fraud-sim-resume-");
    const log = await openEmbeddedLog({ dir, fsync: "never" });
    try {
      // The same first run in both logs: its start is fixed, as `--start` does.
      await runSimulator(log, 1000, Date.UTC(2025, 5, 1));
      await runSimulator(log, 1000);
      runs.push((await transactions(log)).flat().map((tx) => tx.transaction_id));
    } finally {
      await log.close();
    }
  }
  expect(runs[0]).toEqual(runs[1] as string[]);
  expect(new Set(runs[0]).size).toBe(2000);
});
