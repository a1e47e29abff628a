/**
 * Fraud training benchmark (`bun bench/fraud-training.ts`): the whole pipeline on simulated
 * history sized to ~200k training rows (simulate, replay, GBT with early stopping, logistic,
 * evaluation), then the GBT alone for exactly 200 trees on 200k training rows of the fraud
 * features (target ≤ 60 s on the 2-core pod), and the test-period figures of GBT, logistic
 * regression and the rules baseline. One thread, as training runs in one worker.
 *
 * BENCH_DAYS, BENCH_CARDS and BENCH_SEED change the history (defaults 60, 3100, 1).
 */
import { formatEvaluationTable } from "../models/fraud/evaluate.ts";
import { FRAUD_GBT_DEFAULTS, simulatedHistory, trainFraudModels } from "../models/fraud/train.ts";
import { selectRows } from "../models/trainers/dataset.ts";
import { trainGbt } from "../models/trainers/gbt.ts";

const DAYS = Number(process.env.BENCH_DAYS ?? 60);
const CARDS = Number(process.env.BENCH_CARDS ?? 3100);
const SEED = Number(process.env.BENCH_SEED ?? 1);
const REVIEW_FEE_USD = 5;
const ROWS = 200_000;
const TREES = 200;
const GBT_TARGET_S = 60;

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

let t = performance.now();
const history = simulatedHistory({ seed: SEED, days: DAYS, cards: CARDS });
console.log(
  `fraud.simulate(${DAYS} days, ${CARDS} cards): ${seconds(t).toFixed(2)} s ` +
    `(${history.transactions.length} transactions, ${history.labels.length} labels)`,
);

t = performance.now();
const result = trainFraudModels({
  ...history,
  seed: SEED,
  costs: { reviewFeeUsd: REVIEW_FEE_USD },
});
const { data, timings } = result;
console.log(
  `fraud.pipeline: ${seconds(t).toFixed(2)} s (${Object.entries(timings)
    .map(([stage, s]) => `${stage} ${s.toFixed(2)} s`)
    .join(", ")})`,
);
console.log(
  `fraud.rows: train ${data.rows.train} (${data.positives.train} fraud), validation ${data.rows.validation} (${data.positives.validation}), test ${data.rows.test} (${data.positives.test})`,
);

const train = result.splits.gbt.train;
const rows = Math.min(ROWS, train.rows);
const sample =
  rows === train.rows
    ? train
    : selectRows(
        train,
        Array.from({ length: rows }, (_, i) => i),
      );
t = performance.now();
const gbt = trainGbt(sample, { ...FRAUD_GBT_DEFAULTS, rounds: TREES, seed: SEED });
const gbtS = seconds(t);
console.log(
  `fraud.gbt.train(${gbt.trees.length} trees, depth ${FRAUD_GBT_DEFAULTS.maxDepth}, ≤ ${FRAUD_GBT_DEFAULTS.maxLeaves} leaves, ${rows} × ${sample.cols}): ` +
    `${gbtS.toFixed(2)} s (${((gbtS * 1000) / gbt.trees.length).toFixed(1)} ms/tree; target ≤ ${GBT_TARGET_S} s)`,
);

console.log(`fraud.holdout (test period, review fee $${REVIEW_FEE_USD}):`);
console.log(
  formatEvaluationTable([
    ["gbt", result.gbt.test],
    ["logistic", result.logistic.test],
    ["rules", result.rules.test],
  ]),
);
console.log(
  `reproduce: BENCH_DAYS=${DAYS} BENCH_CARDS=${CARDS} BENCH_SEED=${SEED} bun bench/fraud-training.ts`,
);
const peakRssMb = process.resourceUsage().maxRSS / 1024;
console.log(`process.peak_rss: ${peakRssMb.toFixed(0)} MB`);
