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
import {
  findResumePoint,
  loadWorldStart,
  type ResumePoint,
  saveWorldStart,
  worldTopic,
} from "./resume.ts";
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

test("accounts keep their age when retention has deleted the world's oldest transactions", async () => {
  const dir = temp.make("fraud-sim-resume-");
  // Small segments and a small bound: retention leaves only the last segment of each partition.
  const log = await openEmbeddedLog({
    dir,
    fsync: "never",
    segmentBytes: 64 * 1024,
    retention: { maxBytes: 128 * 1024 },
  });
  try {
    // In four runs: each writes its own segment, and the later ones resume the first's world.
    // Retention runs as segments roll, so each run's transactions are read right after it.
    const byId = new Map<string, Transaction>();
    for (let run = 0; run < 4; run++) {
      await runSimulator(log, PER_RUN / 4);
      for (const tx of (await transactions(log)).flat()) byId.set(tx.transaction_id, tx);
    }
    const first = [...byId.values()];
    expect(first.length).toBe(PER_RUN);
    await log.enforceRetention();
    // A read below the oldest offset left starts there.
    const left = (await transactions(log)).flat();
    expect(left.length).toBeLessThan(first.length / 2);
    const deletedSpanMs =
      Math.min(...left.map((tx) => tx.timeMs)) - Math.min(...first.map((tx) => tx.timeMs));
    expect(deletedSpanMs).toBeGreaterThan(2 * 86_400_000);

    await runSimulator(log, PER_RUN);
    const firstIds = new Set(first.map((tx) => tx.transaction_id));
    const lastAgeByCard = new Map(first.map((tx) => [tx.card_id, tx.account_age_days]));
    let compared = 0;
    for (const tx of (await transactions(log)).flat()) {
      const before = lastAgeByCard.get(tx.card_id);
      if (firstIds.has(tx.transaction_id) || before === undefined) continue;
      // Taken from the oldest transaction left, the world's start would be days later and
      // every account days younger.
      expect(tx.account_age_days).toBeGreaterThanOrEqual(before - 1);
      compared++;
    }
    expect(compared).toBeGreaterThan(100);
  } finally {
    await log.close();
  }
});

test("the recorded world start: the latest of our records, a foreign one under its key ignored", async () => {
  const log = await openEmbeddedLog({ dir: temp.make("fraud-sim-world-"), fsync: "never" });
  try {
    expect(await loadWorldStart(log, "tx")).toBeNull();
    await saveWorldStart(log, "tx", Date.UTC(2025, 0, 1));
    await saveWorldStart(log, "tx", Date.UTC(2025, 5, 1));
    const encoder = new TextEncoder();
    await log.append(worldTopic("tx"), 0, [
      { key: encoder.encode("world-start"), value: encoder.encode("not json") },
    ]);
    expect(await loadWorldStart(log, "tx")).toBe(Date.UTC(2025, 5, 1));
  } finally {
    await log.close();
  }
});
