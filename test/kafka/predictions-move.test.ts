/**
 * Predictions waiting for their labels move with their partition (Kafka mode). One process scores
 * simulated transactions (killed once on the way) and stops; their labels are written only then,
 * and a process with an empty data directory (another pod, a lost volume) takes every partition:
 * its shards are restored from the changelog, the predictions' journal included. Every labelled
 * transaction must become a training example with the score the first process gave it. Against
 * the real broker.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { copyFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { FraudExample, FraudScore } from "../../models/fraud/serving.ts";
import type { KafkaLog } from "../../runtime/log/kafka/index.ts";
import { openTestKafkaLog, uniqueName } from "../support/kafka-broker.ts";
import { runKillLoop } from "../support/kill-loop.ts";
import { expectEveryLabelLearned, transactionsAndLabels } from "../support/labelled-fraud.ts";
import { tempDirs } from "../support/temp-dirs.ts";
import { trainFraudChampion } from "../support/train-champion.ts";

setDefaultTimeout(300_000);
const PARTITIONS = 4;
const decoder = new TextDecoder();

let brokers = "";
let log: KafkaLog;
const temp = tempDirs({ removeAfterAll: false });

beforeAll(async () => {
  ({ brokers, log } = await openTestKafkaLog("predictions-move"));
});

afterAll(async () => {
  await log?.close();
  await temp.removeAll();
});

function tempDir(what: string): string {
  const dir = temp.make(`coelho-${what}-`);
  return dir;
}

/** A data directory holding only the trained registry (what a new pod's volume would get). */
function withRegistry(from: string, what: string): string {
  const dir = tempDir(what);
  for (const file of readdirSync(from).filter((f) => f.startsWith("registry.sqlite"))) {
    copyFileSync(join(from, file), join(dir, file));
  }
  return dir;
}

/** The records of a shared output topic whose ids say they came from this test's input. */
async function readOurs<T extends { id: string }>(topic: string, idPrefix: string): Promise<T[]> {
  const out: T[] = [];
  const partitions = await log.partitionCount(topic);
  for (let p = 0; p < partitions; p++) {
    const end = await log.endOffset(topic, p);
    for (let offset = 0; offset < end; ) {
      const records = await log.read(topic, p, offset, 5_000);
      const last = records[records.length - 1];
      if (!last) break;
      for (const r of records) {
        const value = JSON.parse(decoder.decode(r.value)) as T;
        if (value.id.startsWith(idPrefix)) out.push(value);
      }
      offset = last.offset + 1;
    }
  }
  return out;
}

test("a partition taken over by a process with no local checkpoint keeps its predictions: every later label becomes an example", async () => {
  const trained = tempDir("move-train");
  const training = await trainFraudChampion(trained, { days: 30, cards: 800, seed: 3 });
  expect(training.code).toBe(0);

  const appId = uniqueName("move");
  const transactionsTopic = `${appId}.transactions`;
  const labelsTopic = `${appId}.labels`;
  for (const name of [transactionsTopic, labelsTopic]) {
    await log.ensureTopic({ name, partitions: PARTITIONS });
  }
  const { transactions, labels, labelOf } = transactionsAndLabels({
    seed: 37,
    count: 4_000,
    cards: 800,
  });
  expect(labels.length).toBeGreaterThan(2_000);
  await log.produce(transactionsTopic, transactions);

  const env = (dataDir: string) => ({
    COELHO_KAFKA_BROKERS: brokers,
    COELHO_APP_ID: appId,
    COELHO_INSTANCE_ID: "solo",
    COELHO_DATA_DIR: dataDir,
    COELHO_PARTITIONS: String(PARTITIONS),
    COELHO_USECASES: "fraud",
    COELHO_AUTO_TRAIN: "false",
    COELHO_INPUT_TOPICS: `fraud:${transactionsTopic}`,
    COELHO_LABELS_TOPICS: `fraud:${labelsTopic}`,
    COELHO_CHECKPOINT_INTERVAL_MS: "100",
    COELHO_BATCH_MAX: "300",
    COELHO_KAFKA_SESSION_TIMEOUT_MS: "6000",
  });
  // The first process scores everything (killed once), then stops gracefully.
  await runKillLoop({
    label: "scoring on the first process",
    env: env(withRegistry(trained, "move-a")),
    endOffsets: async () => transactions.length,
    partitions: PARTITIONS,
    kills: 1,
    seed: 51,
  });

  // The labels come later; another process, with an empty data directory, reads them.
  await log.produce(labelsTopic, labels);
  await runKillLoop({
    label: "labelling on a process with no local checkpoint",
    env: env(withRegistry(trained, "move-b")),
    endOffsets: async () => transactions.length + labels.length,
    partitions: PARTITIONS,
    kills: 1,
    seed: 53,
  });

  // Ids are `<topic>/<partition>/<offset>` of the input they came from: this test's topics.
  const scores = await readOurs<FraudScore>("fraud.scores", `${transactionsTopic}/`);
  const examples = await readOurs<FraudExample>("fraud.examples", `${labelsTopic}/`);
  expectEveryLabelLearned(labelOf, transactions.length, scores, examples);
});
