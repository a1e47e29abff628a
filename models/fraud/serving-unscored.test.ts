/**
 * Transactions applied while no champion serves are never scored: their labels count as
 * `unscored`, not `unmatched` (which says a join failed). On a first start that is the whole
 * history the simulator writes before the first champion, ~225k labels.
 */
import { expect, test } from "bun:test";
import type { InferenceActor } from "../../actors/inference/index.ts";
import type { Log, StoredRecord } from "../../runtime/log/log.ts";
import { labelsTotal } from "../../runtime/metrics.ts";
import { initialCardState } from "./card-state.ts";
import { FRAUD_LABELS_TOPIC, FRAUD_TRANSACTIONS_TOPIC } from "./entity.ts";
import { transactionEntityKey } from "./schema.ts";
import { FRAUD_SCORES_TOPIC, fraudServing } from "./serving.ts";
import { fraudEvents } from "./simulator/events.ts";

const USECASE = "fraud-unscored-test";

async function labelCount(outcome: string): Promise<number> {
  const { values } = await labelsTotal.get();
  return (
    values.find((v) => v.labels.usecase === USECASE && v.labels.outcome === outcome)?.value ?? 0
  );
}

test("labels of transactions applied without a champion count as unscored, held ones too", async () => {
  const processor = fraudServing(
    {
      // Neither is used with no champion: nothing is scored, so nothing is appended.
      log: {} as Log,
      inference: {} as InferenceActor,
      scoresTopic: FRAUD_SCORES_TOPIC,
      serving: () => null,
      usecase: USECASE,
    },
    0,
  );
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
