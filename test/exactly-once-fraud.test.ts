/**
 * Exactly-once state with two inputs: the fraud use case's shards read `fraud.transactions` and
 * `fraud.labels` as two topics (a position for each in every checkpoint). The platform runs as a
 * child process over simulated transactions and their labels, is killed with SIGKILL at random
 * points, restarted, and at the end every card's state must equal, bit for bit, a fold of its
 * transactions computed here, and the checkpoints must include every record of both topics.
 */
import { Database } from "bun:sqlite";
import { expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { applyTransaction, type CardState, initialCardState } from "../models/fraud/card-state.ts";
import { FRAUD_LABELS_TOPIC, FRAUD_TRANSACTIONS_TOPIC } from "../models/fraud/entity.ts";
import { parseTransaction, transactionEntityKey } from "../models/fraud/schema.ts";
import { fraudEvents } from "../models/fraud/simulator/events.ts";
import { decodeCardState, encodeCardState } from "../models/fraud/state-codec.ts";
import { openEmbeddedLog } from "../runtime/log/embedded/index.ts";
import type { LogRecord } from "../runtime/log/log.ts";
import { runKillLoop } from "./support/kill-loop.ts";
import { tempDirs } from "./support/temp-dirs.ts";

setDefaultTimeout(240_000);

const PARTITIONS = 4;
const temp = tempDirs();

/** Per partition file: the positions and the encoded card states the last checkpoint holds. */
function readFraudCheckpoints(dataDir: string) {
  const dir = join(dataDir, "state", "fraud");
  const positions = new Map<string, number>();
  const states = new Map<string, Uint8Array>();
  for (const file of readdirSync(dir).filter((f) => /^p\d+\.sqlite$/.test(f))) {
    const partition = Number(file.slice(1, -".sqlite".length));
    const db = new Database(join(dir, file), { readonly: true });
    for (const row of db
      .query("SELECT topic, partition, next_offset AS n FROM positions")
      .all() as { topic: string; partition: number; n: number }[]) {
      if (row.partition === partition) {
        positions.set(row.topic, (positions.get(row.topic) ?? 0) + row.n);
      }
    }
    for (const row of db.query("SELECT key, state FROM entities").all() as {
      key: string;
      state: Uint8Array;
    }[]) {
      states.set(row.key, row.state);
    }
    db.close();
  }
  return { positions, states };
}

test("transactions and labels as two topics: every card's state exact after SIGKILLs, both topics fully applied", async () => {
  const dataDir = temp.make("coelho-eos-fraud-");
  const transactions: LogRecord[] = [];
  const labels: LogRecord[] = [];
  // The independent fold: each card's transactions in the order they were written (one card is
  // in one partition, read in offset order).
  const expected = new Map<string, CardState>();
  for (const item of fraudEvents({ seed: 23, count: 40_000, cards: 5_000, drainLabels: true })) {
    if (item.kind === "label") {
      labels.push(item.record);
      continue;
    }
    transactions.push(item.record);
    const tx = parseTransaction(item.record.value);
    const key = transactionEntityKey(tx);
    expected.set(key, applyTransaction(expected.get(key) ?? initialCardState(), tx));
  }
  expect(labels.length).toBeGreaterThan(20_000);
  const log = await openEmbeddedLog({ dir: join(dataDir, "log"), fsync: "never" });
  for (const topic of [FRAUD_TRANSACTIONS_TOPIC, FRAUD_LABELS_TOPIC]) {
    await log.ensureTopic({ name: topic, partitions: PARTITIONS });
  }
  // Interleaved in chunks, as a live stream writes them.
  for (let i = 0; i < transactions.length; i += 2_000) {
    await log.produce(FRAUD_TRANSACTIONS_TOPIC, transactions.slice(i, i + 2_000));
    await log.produce(FRAUD_LABELS_TOPIC, labels.slice(i, i + 2_000));
  }
  await log.produce(FRAUD_LABELS_TOPIC, labels.slice(transactions.length));
  await log.close();
  const total = transactions.length + labels.length;

  const { progress } = await runKillLoop({
    label: "fraud eos",
    env: {
      COELHO_DATA_DIR: dataDir,
      COELHO_USECASES: "fraud",
      COELHO_AUTO_TRAIN: "false",
      COELHO_SIMULATE: "false",
      COELHO_PARTITIONS: String(PARTITIONS),
      COELHO_CHECKPOINT_INTERVAL_MS: "50",
      COELHO_CHECKPOINT_MAX_EVENTS: "3000",
      COELHO_BATCH_MAX: "500",
    },
    endOffsets: async () => total,
    partitions: PARTITIONS,
    kills: 4,
    seed: 77,
  });
  // The kills landed mid-stream.
  expect(progress.filter((p) => p > 0 && p < total).length).toBeGreaterThanOrEqual(2);

  const checkpoints = readFraudCheckpoints(dataDir);
  expect(checkpoints.positions.get(FRAUD_TRANSACTIONS_TOPIC)).toBe(transactions.length);
  expect(checkpoints.positions.get(FRAUD_LABELS_TOPIC)).toBe(labels.length);
  let lost = 0;
  let doubled = 0;
  let differ = 0;
  for (const [key, want] of expected) {
    const stored = checkpoints.states.get(key);
    const have = stored === undefined ? null : decodeCardState(stored);
    if (!have || have.count < want.count) lost++;
    else if (have.count > want.count) doubled++;
    else if (!Bun.deepEquals(stored, encodeCardState(want))) differ++;
  }
  expect({ lost, doubled, differ, cards: checkpoints.states.size }).toEqual({
    lost: 0,
    doubled: 0,
    differ: 0,
    cards: expected.size,
  });
});
