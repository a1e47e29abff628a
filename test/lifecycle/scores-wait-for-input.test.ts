/**
 * A shard may read its input ahead of the fsync (the embedded log with fsync `always`,
 * docs/embedded-log.md): scoring then overlaps the input's fsync, and the scores must still never
 * be visible before the transactions they score are durable. The fraud serving path gets, with
 * each batch, a promise of its input's durability; this checks that it appends the batch's scores
 * only once that promise resolves.
 */
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { FRAUD_SCORES_TOPIC } from "../../models/fraud/serving.ts";
import { LifecycleHarness } from "./harness.ts";

setDefaultTimeout(120_000);

const harness = new LifecycleHarness({ seed: 5, cards: 500, historyDays: 12 });
afterAll(() => harness.stop());

test("a batch's scores are appended only once its transactions are durable", async () => {
  await harness.start();
  let durable = () => {};
  const inputVisible = new Promise<void>((resolve) => {
    durable = resolve;
  });
  let flushed = false;
  const flushing = harness.flushNext(200, inputVisible).then(() => {
    flushed = true;
  });
  // Ample time to score 200 rows (a few ms): the batch is scored and waiting for its input.
  await Bun.sleep(500);
  expect(flushed).toBe(false);
  expect(await harness.log.endOffset(FRAUD_SCORES_TOPIC, 0)).toBe(0);
  durable();
  await flushing;
  expect(await harness.log.endOffset(FRAUD_SCORES_TOPIC, 0)).toBe(200);
});
