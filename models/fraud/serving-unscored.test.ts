/**
 * Transactions applied while no champion serves are never scored: their labels count as
 * `unscored`, not `unmatched` (which says a join failed). On a first start that is the whole
 * history the simulator writes before the first champion, ~225k labels.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { InferenceActor } from "../../actors/inference/index.ts";
import type { Log, StoredRecord } from "../../runtime/log/log.ts";
import { labelsTotal } from "../../runtime/metrics.ts";
import { initialCardState } from "./card-state.ts";
import { FRAUD_LABELS_TOPIC, FRAUD_TRANSACTIONS_TOPIC } from "./entity.ts";
import { transactionEntityKey } from "./schema.ts";
import { FRAUD_SCORES_TOPIC, fraudServing } from "./serving.ts";
import { fraudEvents } from "./simulator/events.ts";

const USECASE = "fraud-unscored-test";

const dir = mkdtempSync(join(tmpdir(), "coelho-unscored-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function labelCount(outcome: string, usecase = USECASE): Promise<number> {
  const { values } = await labelsTotal.get();
  return (
    values.find((v) => v.labels.usecase === usecase && v.labels.outcome === outcome)?.value ?? 0
  );
}

/** A shard's serving path with no champion; `unscoredPath` keeps its unscored ids. */
function unservedProcessor(usecase: string, unscoredPath?: string) {
  return fraudServing(
    {
      // Neither is used with no champion: nothing is scored, so nothing is appended.
      log: {} as Log,
      inference: {} as InferenceActor,
      scoresTopic: FRAUD_SCORES_TOPIC,
      serving: () => null,
      usecase,
      unscoredPath,
    },
    0,
  );
}

test("labels of transactions applied without a champion count as unscored, held ones too", async () => {
  const processor = unservedProcessor(USECASE);
  let offset = 0;
  const record = (item: {
    record: { key: Uint8Array | null; value: Uint8Array };
  }): StoredRecord => ({
    offset: offset++,
    key: item.record.key,
    value: item.record.value,
    headers: {},
    timestampMs: 0,
  });
  const items = [...fraudEvents({ seed: 3, cards: 200, count: 3_000, drainLabels: true })];
  const labels = items.filter((item) => item.kind === "label");
  expect(labels.length).toBeGreaterThan(1_000);
  // One label arrives before its transaction (the shard may read the labels topic ahead): it is
  // held, then counted as unscored when its transaction is applied without a score.
  const early = labels[0];
  if (early?.kind !== "label") throw new Error("no label");
  processor.onEvent(
    early.label.card_id,
    initialCardState(),
    early.label,
    record(early),
    FRAUD_LABELS_TOPIC,
  );
  await processor.flush(Promise.resolve());
  for (const item of items) {
    if (item === early) continue;
    if (item.kind === "label") {
      processor.onEvent(
        item.label.card_id,
        initialCardState(),
        item.label,
        record(item),
        FRAUD_LABELS_TOPIC,
      );
    } else {
      const key = transactionEntityKey(item.event);
      processor.onEvent(
        key,
        initialCardState(),
        item.event,
        record(item),
        FRAUD_TRANSACTIONS_TOPIC,
      );
    }
    if (offset % 100 === 0) await processor.flush(Promise.resolve());
  }
  await processor.flush(Promise.resolve());
  expect(await labelCount("unscored")).toBe(labels.length);
  expect(await labelCount("unmatched")).toBe(0);
  expect(await labelCount("matched")).toBe(0);
  await processor.close?.();
});

test("a restart keeps them: the labels that come after it count as unscored too", async () => {
  const usecase = `${USECASE}-restart`;
  const path = join(dir, "p0.unscored");
  const before = unservedProcessor(usecase, path);
  let offset = 0;
  const stored = (value: Uint8Array, key: Uint8Array | null): StoredRecord => ({
    offset: offset++,
    key,
    value,
    headers: {},
    timestampMs: 0,
  });
  const items = [...fraudEvents({ seed: 4, cards: 200, count: 2_000, drainLabels: true })];
  for (const item of items) {
    if (item.kind !== "transaction") continue;
    const key = transactionEntityKey(item.event);
    const record = stored(item.record.value, item.record.key);
    before.onEvent(key, initialCardState(), item.event, record, FRAUD_TRANSACTIONS_TOPIC);
  }
  await before.flush(Promise.resolve());
  before.checkpoint?.();
  expect(existsSync(path)).toBe(true);
  await before.close?.();

  // Restarted: the labels come now, to a processor that never saw their transactions.
  const after = unservedProcessor(usecase, path);
  after.restore?.([]);
  const labels = items.filter((item) => item.kind === "label");
  expect(labels.length).toBeGreaterThan(500);
  for (const item of labels) {
    if (item.kind !== "label") continue;
    const record = stored(item.record.value, item.record.key);
    after.onEvent(item.label.card_id, initialCardState(), item.label, record, FRAUD_LABELS_TOPIC);
  }
  await after.flush(Promise.resolve());
  expect(await labelCount("unscored", usecase)).toBe(labels.length);
  expect(await labelCount("unmatched", usecase)).toBe(0);
  await after.close?.();
});
