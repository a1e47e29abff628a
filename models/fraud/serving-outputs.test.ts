/**
 * A batch's outputs (scores, training examples) are fsynced while the next batch is read and
 * scored: `flush` returns once they are appended, not once they are durable. What that must not
 * change: appends stay in order (the next batch's wait for the last batch's), a failed append
 * still fails the shard (at its next flush), and `outputsDurable` (which the shard's checkpoint
 * waits for) resolves only once every output so far is durable.
 *
 * The log here is a stand-in whose appends the test settles by hand: the property is the order in
 * which the processor calls it. test/power-cut-scores.test.ts covers the real log and a crash.
 */
import { expect, test } from "bun:test";
import type { InferenceActor } from "../../actors/inference/index.ts";
import type { ServingModel } from "../../actors/models/champion-watcher.ts";
import type { Log, LogRecord, StoredRecord } from "../../runtime/log/log.ts";
import type { ModelVersionInfo } from "../registry/types.ts";
import { initialCardState } from "./card-state.ts";
import { FRAUD_LABELS_TOPIC, FRAUD_TRANSACTIONS_TOPIC } from "./entity.ts";
import { buildFeatureSchema } from "./feature-schema.ts";
import { transactionEntityKey } from "./schema.ts";
import { FRAUD_EXAMPLES_TOPIC, FRAUD_SCORES_TOPIC, fraudServing } from "./serving.ts";
import { fraudEvents } from "./simulator/events.ts";

interface PendingAppend {
  topic: string;
  records: LogRecord[];
  settle: (error?: Error) => void;
}

/** A log whose appends stay pending until the test settles them. */
function heldLog() {
  const appends: PendingAppend[] = [];
  const log = {
    append(topic: string, _partition: number, records: LogRecord[]) {
      return new Promise<number>((resolve, reject) => {
        appends.push({
          topic,
          records,
          settle: (error) => (error ? reject(error) : resolve(records.length)),
        });
      });
    },
  } as unknown as Log;
  return { log, appends };
}

const champion: ServingModel = {
  version: 1,
  threshold: 0.5,
  info: { featureSchema: buildFeatureSchema() } as unknown as ModelVersionInfo,
  explainer: null,
  notExplainable: null,
};

const inference = {
  scoreMany: async (_rows: Float32Array, n: number) => ({
    scores: new Float32Array(n).fill(0.25),
    modelVersion: "1",
  }),
} as unknown as InferenceActor;

/** Resolves to whether `promise` settled within a few turns of the event loop. */
async function settlesSoon(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  for (let i = 0; i < 20; i++) await Bun.sleep(0);
  return settled;
}

function setup() {
  const held = heldLog();
  const processor = fraudServing(
    {
      log: held.log,
      inference,
      scoresTopic: FRAUD_SCORES_TOPIC,
      serving: () => champion,
      usecase: "fraud-outputs-test",
    },
    0,
  );
  let offset = 0;
  const items = [...fraudEvents({ seed: 5, cards: 50, count: 2_000, drainLabels: true })];
  const transactions = items.flatMap((i) => (i.kind === "transaction" ? [i] : []));
  const labelOf = new Map(
    items.flatMap((i) => (i.kind === "label" ? [[i.label.transaction_id, i] as const] : [])),
  );
  const record = (value: Uint8Array): StoredRecord => ({
    offset: offset++,
    key: null,
    value,
    headers: {},
    timestampMs: 0,
  });
  /** Applies the `n`th transaction, and its label when `withLabel`. */
  function apply(n: number, withLabel = false) {
    const tx = transactions[n];
    if (!tx) throw new Error(`no transaction ${n}`);
    const key = transactionEntityKey(tx.event);
    processor.onEvent(
      key,
      initialCardState(),
      tx.event,
      record(tx.record.value),
      FRAUD_TRANSACTIONS_TOPIC,
    );
    if (!withLabel) return;
    const label = labelOf.get(tx.event.transaction_id);
    if (!label) throw new Error(`transaction ${n} has no label`);
    processor.onEvent(
      key,
      initialCardState(),
      label.label,
      record(label.record.value),
      FRAUD_LABELS_TOPIC,
    );
  }
  return { processor, appends: held.appends, apply };
}

test("flush returns before its outputs are durable; the next batch's appends wait for them", async () => {
  const { processor, appends, apply } = setup();
  const durable = () => processor.outputsDurable?.() ?? Promise.resolve();

  apply(0, true);
  // Scores and the example of the label joined in the same batch: appended, not yet durable.
  await processor.flush(Promise.resolve());
  expect(appends.map((a) => a.topic)).toEqual([FRAUD_SCORES_TOPIC, FRAUD_EXAMPLES_TOPIC]);
  expect(await settlesSoon(durable())).toBe(false);

  apply(1);
  const second = processor.flush(Promise.resolve());
  // Scored, but its scores wait for the first batch's outputs: appends never overlap.
  expect(await settlesSoon(second)).toBe(false);
  expect(appends).toHaveLength(2);
  appends[0]?.settle();
  expect(await settlesSoon(second)).toBe(false);
  expect(await settlesSoon(durable())).toBe(false);
  appends[1]?.settle();
  await second;
  expect(appends.map((a) => a.topic)).toEqual([
    FRAUD_SCORES_TOPIC,
    FRAUD_EXAMPLES_TOPIC,
    FRAUD_SCORES_TOPIC,
  ]);
  const secondScore = JSON.parse(new TextDecoder().decode(appends[2]?.records[0]?.value));
  expect(secondScore.transaction_id).toBeString();
  // The first batch's outputs are durable, the second's not yet: the checkpoint still waits.
  const whenDurable = durable();
  expect(await settlesSoon(whenDurable)).toBe(false);
  appends[2]?.settle();
  expect(await settlesSoon(whenDurable)).toBe(true);
});

test("a failed output append fails the next flush and outputsDurable, with its error", async () => {
  const { processor, appends, apply } = setup();
  apply(0);
  await processor.flush(Promise.resolve());
  appends[0]?.settle(new Error("ENOSPC: no space left on device"));
  await expect(processor.outputsDurable?.() ?? Promise.resolve()).rejects.toThrow("ENOSPC");
  apply(1);
  await expect(processor.flush(Promise.resolve())).rejects.toThrow("ENOSPC");
  // Nothing of the second batch was appended after the failure.
  expect(appends).toHaveLength(1);
});
