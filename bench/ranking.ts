/**
 * Ranking metrics benchmark (`bun run bench -- ranking`): PR-AUC of a window the size of online
 * quality's (20,000 labelled predictions, 1 % positives, scores from a model that ranks well), as
 * online quality and the rollout's shadow comparison compute it on the event loop. The rows'
 * indices ranked through a comparator (`byScoreDesc`, then `rankedAveragePrecision`: how
 * `averagePrecision` worked until 28 November 2026, and `rocAuc` ranked the rows the same way)
 * against `averagePrecision` now (one pass over each class's natively sorted scores, the same
 * value), alternating in this process; the ratio is the figure, since this machine's noise moves
 * both.
 */
import {
  averagePrecision,
  byScoreDesc,
  rankedAveragePrecision,
} from "../models/trainers/metrics.ts";
import { seededRandom } from "../models/trainers/rng.ts";
import { quantile } from "./support/stats.ts";

const ROWS = 20_000;
const ROUNDS = 30;

const random = seededRandom(3);
const scores = new Float64Array(ROWS);
const labels = new Uint8Array(ROWS);
for (let i = 0; i < ROWS; i++) {
  labels[i] = random() < 0.01 ? 1 : 0;
  // A GBT's probabilities: most near 0, positives mostly high, rounded as float32 outputs are.
  scores[i] = Math.fround(labels[i] === 1 ? 1 - random() ** 3 : random() ** 6);
}

function timed(compute: () => void): number {
  const started = performance.now();
  compute();
  return performance.now() - started;
}

let positives = 0;
for (const label of labels) positives += label;
const indexSort: number[] = [];
const onePass: number[] = [];
let sink = 0;
for (let round = 0; round < ROUNDS; round++) {
  indexSort.push(
    timed(() => (sink += rankedAveragePrecision(byScoreDesc(scores), scores, labels, positives))),
  );
  onePass.push(timed(() => (sink += averagePrecision(scores, labels))));
}
// Used, so that no call can be optimised away.
if (!Number.isFinite(sink)) throw new Error(`a metric was not finite: ${sink}`);
// The first rounds include compilation; the median is the steady figure.
indexSort.sort((a, b) => a - b);
onePass.sort((a, b) => a - b);
const indexSortMs = quantile(indexSort, 0.5);
const onePassMs = quantile(onePass, 0.5);
console.log(
  `PR-AUC of a ${ROWS}-row window (median of ${ROUNDS}): rows ranked through a comparator ${indexSortMs.toFixed(2)} ms, averagePrecision's one-pass merge ${onePassMs.toFixed(2)} ms (ratio ${(onePassMs / indexSortMs).toFixed(2)})`,
);
