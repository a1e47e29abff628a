/**
 * Predictions waiting for their labels survive restarts, and so do labels waiting for their
 * transactions. The platform (a child process, serving a trained champion) scores simulated
 * transactions while it is killed with SIGKILL at random points; only then are the labels
 * written, and it is killed again while it reads them. Every labelled transaction must still
 * become a training example, with the very score it was given before the kills: the shards'
 * checkpoints carry the predictions and the labels held (prediction-journal.ts). And the other
 * way round: labels first (a shard reading the labels topic ahead), transactions after.
 */
import { expect, setDefaultTimeout, test } from "bun:test";
import { FRAUD_LABELS_TOPIC, FRAUD_TRANSACTIONS_TOPIC } from "../models/fraud/entity.ts";
import type { FraudExample, FraudScore } from "../models/fraud/serving.ts";
import type { Log } from "../runtime/log/log.ts";
import { runKillLoop } from "./support/kill-loop.ts";
import { expectEveryLabelLearned, transactionsAndLabels } from "./support/labelled-fraud.ts";
import { tempDirs } from "./support/temp-dirs.ts";
import { trainFraudChampion } from "./support/train-champion.ts";
import { readPartition, withLog } from "./support/with-log.ts";

setDefaultTimeout(300_000);

const PARTITIONS = 3;
const temp = tempDirs();
const decoder = new TextDecoder();

async function readAll<T>(log: Log, topic: string): Promise<T[]> {
  const out: T[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    for (const r of await readPartition(log, topic, p)) {
      out.push(JSON.parse(decoder.decode(r.value)) as T);
    }
  }
  return out;
}

type Order = "transactions first" | "labels first";

test("labels written after SIGKILLs still find the predictions made before them: every one becomes an example", async () => {
  await killedBetween("transactions first");
});

test("labels read before their transactions wait through SIGKILLs and a restart: every one becomes an example", async () => {
  await killedBetween("labels first");
});

async function killedBetween(order: Order): Promise<void> {
  const dataDir = temp.make("coelho-predictions-restart-");
  const trained = await trainFraudChampion(dataDir, { days: 30, cards: 800, seed: 3 });
  expect(trained.code).toBe(0);

  const { transactions, labels, labelOf } = transactionsAndLabels({
    seed: 31,
    count: 9_000,
    cards: 1_500,
  });
  expect(labels.length).toBeGreaterThan(5_000);
  expect([...labelOf.values()]).toContain(1);
  await withLog(dataDir, async (log) => {
    for (const topic of [FRAUD_TRANSACTIONS_TOPIC, FRAUD_LABELS_TOPIC]) {
      await log.ensureTopic({ name: topic, partitions: PARTITIONS });
    }
  });
  const [first, second] =
    order === "transactions first"
      ? [
          { topic: FRAUD_TRANSACTIONS_TOPIC, records: transactions },
          { topic: FRAUD_LABELS_TOPIC, records: labels },
        ]
      : [
          { topic: FRAUD_LABELS_TOPIC, records: labels },
          { topic: FRAUD_TRANSACTIONS_TOPIC, records: transactions },
        ];
  await withLog(dataDir, (log) => log.produce(first.topic, first.records));

  const env = {
    COELHO_DATA_DIR: dataDir,
    COELHO_USECASES: "fraud",
    COELHO_AUTO_TRAIN: "false",
    COELHO_SIMULATE: "false",
    COELHO_PARTITIONS: String(PARTITIONS),
    COELHO_CHECKPOINT_INTERVAL_MS: "50",
    COELHO_BATCH_MAX: "300",
  };
  // The first topic read, killed twice on the way; the last run reads the rest and stops
  // gracefully. Labels come later, as chargebacks and confirmations do (or, read ahead, first).
  await runKillLoop({
    label: `${order}: ${first.topic}`,
    env,
    endOffsets: async () => first.records.length,
    partitions: PARTITIONS,
    kills: 2,
    seed: 41,
  });
  // Then the other, killed three times while it is read.
  await withLog(dataDir, (log) => log.produce(second.topic, second.records));
  const total = transactions.length + labels.length;
  let journalBytes = 0;
  const { progress } = await runKillLoop({
    label: `${order}: ${second.topic}`,
    env,
    endOffsets: async () => total,
    partitions: PARTITIONS,
    kills: 3,
    seed: 43,
    // The predictions still waiting (fraud never reported) are in the journal, and say so.
    whileUp: async (run) => {
      const text = await (await fetch(`http://127.0.0.1:${run.port}/metrics`)).text();
      for (const m of text.matchAll(/^coelho_prediction_journal_bytes\{[^}]*\} (\S+)$/gm)) {
        journalBytes += Number(m[1]);
      }
    },
  });
  expect(journalBytes).toBeGreaterThan(0);
  expect(progress.some((p) => p > first.records.length && p < total)).toBe(true);

  const { examples, scores } = await withLog(dataDir, async (log) => ({
    examples: await readAll<FraudExample>(log, "fraud.examples"),
    scores: await readAll<FraudScore>(log, "fraud.scores"),
  }));
  expectEveryLabelLearned(labelOf, transactions.length, scores, examples);
}
