/**
 * Ranking metrics benchmark (`bun run bench -- ranking`): PR-AUC and ROC-AUC of a window the size
 * of online quality's (20,000 labelled predictions, 1 % positives, scores from a model that ranks
 * well), as online quality recomputes it on the event loop every 2 s. `averagePrecision` then
 * `rocAuc` (each sorts the rows' indices through a comparator) against `rankingQuality` (both from
 * one pass over each class's natively sorted scores), alternating in this process; the ratio is
 * the figure, since this machine's noise moves both.
 */
import { averagePrecision, rankingQuality, rocAuc } from "../models/trainers/metrics.ts";
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

const separate: number[] = [];
const onePass: number[] = [];
let sink = 0;
for (let round = 0; round < ROUNDS; round++) {
  separate.push(timed(() => (sink += averagePrecision(scores, labels) + rocAuc(scores, labels))));
  onePass.push(
    timed(() => {
      const both = rankingQuality(scores, labels);
      sink += both.averagePrecision + both.rocAuc;
    }),
  );
}
// Used, so that no call can be optimised away.
if (!Number.isFinite(sink)) throw new Error(`a metric was not finite: ${sink}`);
// The first rounds include compilation; the median is the steady figure.
separate.sort((a, b) => a - b);
onePass.sort((a, b) => a - b);
const separateMs = quantile(separate, 0.5);
const onePassMs = quantile(onePass, 0.5);
console.log(
  `PR-AUC and ROC-AUC of a ${ROWS}-row window (median of ${ROUNDS}): averagePrecision + rocAuc ${separateMs.toFixed(2)} ms, rankingQuality ${onePassMs.toFixed(2)} ms (ratio ${(onePassMs / separateMs).toFixed(2)})`,
);
