/**
 * Scores are shown to readers before their fsync (the serving outputs are replayable topics,
 * runtime/log/log.ts): what makes that safe is that a power cut can only take scores of events
 * the last checkpoint does not include, and the restart's replay writes those again with the
 * same ids. Here the platform (a child process serving a trained champion) is killed mid-stream;
 * then every score of an event after its shard's checkpoint is cut from `fraud.scores`, as a
 * power cut that lost them would leave it. Restarted, the platform must give every transaction
 * a score again, and the cut ones the very id, score and decision they had.
 */
import { Database } from "bun:sqlite";
import { expect, setDefaultTimeout, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { FRAUD_TRANSACTIONS_TOPIC } from "../models/fraud/entity.ts";
import { FRAUD_SCORES_TOPIC, type FraudScore } from "../models/fraud/serving.ts";
import type { StoredRecord } from "../runtime/log/log.ts";
import { runKillLoop } from "./support/kill-loop.ts";
import { transactionsAndLabels } from "./support/labelled-fraud.ts";
import { startPlatform, waitFor } from "./support/platform-process.ts";
import { tempDirs } from "./support/temp-dirs.ts";
import { trainFraudChampion } from "./support/train-champion.ts";
import { readPartition, withLog } from "./support/with-log.ts";

setDefaultTimeout(300_000);

const PARTITIONS = 3;
const temp = tempDirs();
const decoder = new TextDecoder();

/** The transactions offset each shard's checkpoint includes, by partition. */
function checkpointedTransactions(dataDir: string): Map<number, number> {
  const out = new Map<number, number>();
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const db = new Database(join(dataDir, "state", "fraud", `p${partition}.sqlite`), {
      readonly: true,
    });
    const row = db
      .query("SELECT next_offset AS n FROM positions WHERE topic = ? AND partition = ?")
      .get(FRAUD_TRANSACTIONS_TOPIC, partition) as { n: number } | null;
    db.close();
    out.set(partition, row?.n ?? 0);
  }
  return out;
}

const scoreOf = (record: StoredRecord) => JSON.parse(decoder.decode(record.value)) as FraudScore;

test("scores a power cut takes are written again by the restart's replay, with the same ids and values", async () => {
  const dataDir = temp.make("coelho-power-cut-");
  const trained = await trainFraudChampion(dataDir, { days: 30, cards: 800, seed: 3 });
  expect(trained.code).toBe(0);
  const { transactions } = transactionsAndLabels({ seed: 17, count: 12_000, cards: 1_500 });
  await withLog(dataDir, async (log) => {
    await log.ensureTopic({ name: FRAUD_TRANSACTIONS_TOPIC, partitions: PARTITIONS });
    await log.produce(FRAUD_TRANSACTIONS_TOPIC, transactions);
  });
  const env = {
    COELHO_DATA_DIR: dataDir,
    COELHO_USECASES: "fraud",
    COELHO_AUTO_TRAIN: "false",
    COELHO_SIMULATE: "false",
    COELHO_PARTITIONS: String(PARTITIONS),
    COELHO_CHECKPOINT_INTERVAL_MS: "300",
    COELHO_BATCH_MAX: "200",
  };

  // Killed once scoring is past its checkpoints: the scores after them are what a cut can take.
  const run = startPlatform(env);
  await waitFor("scores past the checkpoints", 120_000, async () => {
    if (run.proc.exitCode !== null) throw new Error(`platform exited early:\n${run.stderr()}`);
    const { body } = await run.get<{
      shards: { inputs: { nextOffset: number; checkpointedOffset: number }[] }[];
    }>("/api/v1/shards");
    if (body.shards.length !== PARTITIONS) return undefined;
    const inputs = body.shards.flatMap((s) => s.inputs);
    const applied = inputs.reduce((n, i) => n + i.nextOffset, 0);
    const checkpointed = inputs.reduce((n, i) => n + i.checkpointedOffset, 0);
    return applied > transactions.length / 3 && checkpointed > 0 && applied > checkpointed + 500
      ? true
      : undefined;
  });
  run.proc.kill("SIGKILL");
  await run.proc.exited;

  // The power cut: each partition of fraud.scores loses its scores of uncheckpointed events.
  const checkpointed = checkpointedTransactions(dataDir);
  const cut = new Map<string, FraudScore>();
  const kept: StoredRecord[][] = [];
  await withLog(dataDir, async (log) => {
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const records = await readPartition(log, FRAUD_SCORES_TOPIC, partition);
      const keepUntil = checkpointed.get(partition) ?? 0;
      const inputOffset = (r: StoredRecord) => Number(scoreOf(r).id.split("/").pop());
      kept.push(
        records
          .filter((r) => inputOffset(r) < keepUntil)
          .map((r) => ({ ...r, key: r.key?.slice() ?? null, value: r.value.slice() })),
      );
      for (const r of records.filter((r) => inputOffset(r) >= keepUntil)) {
        const score = scoreOf(r);
        cut.set(score.id, score);
      }
    }
  });
  expect(cut.size).toBeGreaterThan(100);
  for (let partition = 0; partition < PARTITIONS; partition++) {
    rmSync(join(dataDir, "log", "topics", FRAUD_SCORES_TOPIC, String(partition)), {
      recursive: true,
      force: true,
    });
  }
  await withLog(dataDir, async (log) => {
    for (const [partition, records] of kept.entries()) {
      if (records.length === 0) continue;
      const { offset: _offset, ...first } = records[0] as StoredRecord;
      expect(await log.append(FRAUD_SCORES_TOPIC, partition, [first])).toBe(0);
      await log.append(
        FRAUD_SCORES_TOPIC,
        partition,
        records.slice(1).map(({ offset: _o, ...record }) => record),
      );
      expect(await log.endOffset(FRAUD_SCORES_TOPIC, partition)).toBe(records.length);
    }
  });

  // Restarted: the replay from the checkpoints scores the cut events again, and the rest.
  await runKillLoop({
    label: "after the power cut",
    env,
    endOffsets: async () => transactions.length,
    partitions: PARTITIONS,
    kills: 0,
    seed: 1,
  });
  const scores = await withLog(dataDir, async (log) => {
    const all: FraudScore[] = [];
    for (let partition = 0; partition < PARTITIONS; partition++) {
      all.push(...(await readPartition(log, FRAUD_SCORES_TOPIC, partition)).map(scoreOf));
    }
    return all;
  });
  const scored = new Set(scores.map((s) => s.transaction_id));
  const unscored = transactions.filter(
    (tx) => !scored.has((JSON.parse(decoder.decode(tx.value)) as FraudScore).transaction_id),
  );
  expect(unscored.length).toBe(0);
  const byId = new Map(scores.map((s) => [s.id, s]));
  for (const [id, lost] of cut) {
    const again = byId.get(id);
    expect(again && { score: again.score, decision: again.decision }).toEqual({
      score: lost.score,
      decision: lost.decision,
    });
  }
});
