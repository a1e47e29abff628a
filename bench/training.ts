/**
 * Training benchmarks (`bun bench/training.ts`): the histogram GBT (200 trees of depth 6 on
 * 200k × 30 synthetic rows, target ≤ 60 s on the 2-core pod), logistic regression on the same
 * rows, and the process's peak RSS. One thread, as training runs in one worker.
 */
import { trainGbt } from "../models/trainers/gbt.ts";
import { trainLogistic } from "../models/trainers/logistic.ts";
import { syntheticBinary } from "../models/trainers/synthetic.ts";

const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const COLS = 30;
const TREES = 200;
const DEPTH = 6;
const GBT_TARGET_S = 60;

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

let t = performance.now();
const ds = syntheticBinary({
  rows: ROWS,
  cols: COLS,
  seed: 1,
  positiveRate: 0.1,
  missingRate: 0.02,
});
console.log(`data.synthetic(${ROWS} × ${COLS}): ${seconds(t).toFixed(2)} s`);

t = performance.now();
const gbt = trainGbt(ds, { rounds: TREES, maxDepth: DEPTH, seed: 1 });
const gbtS = seconds(t);
const nodes = gbt.trees.reduce((s, tree) => s + tree.feature.length, 0);
console.log(
  `gbt.train(${gbt.trees.length} trees, depth ${DEPTH}, ${ROWS} × ${COLS}): ${gbtS.toFixed(2)} s ` +
    `(${((gbtS * 1000) / gbt.trees.length).toFixed(1)} ms/tree, ${nodes} nodes; ` +
    `target ≤ ${GBT_TARGET_S} s) train log loss ${(gbt.history.train.at(-1) ?? Number.NaN).toFixed(4)}`,
);

// Logistic regression needs complete rows: the same problem without missing values.
const complete = syntheticBinary({ rows: ROWS, cols: COLS, seed: 1, positiveRate: 0.1 });
t = performance.now();
const logistic = trainLogistic(complete);
console.log(
  `logistic.train(${ROWS} × ${COLS}): ${seconds(t).toFixed(2)} s ` +
    `(${logistic.iterations} L-BFGS iterations, converged ${logistic.converged})`,
);

const peakRssMb = process.resourceUsage().maxRSS / 1024;
console.log(`process.peak_rss: ${peakRssMb.toFixed(0)} MB`);
