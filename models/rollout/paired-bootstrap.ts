/**
 * How sure a rollout can be that the challenger is better or worse than the champion: a paired,
 * stratified bootstrap of the PR-AUC difference (challenger − champion) on the same labelled
 * events.
 *
 * Why: a window of 2,000 fraud labels holds ~20 frauds, and a PR-AUC on 20 positives moves by
 * several hundredths from one window to the next. Deciding on the two point estimates promoted a
 * worse challenger or rolled back an equal one about as often as a coin. Resampling the events
 * (both models' scores of an event stay together, which removes the events' own noise from the
 * difference) gives the interval the difference is likely in.
 *
 * - Paired: each resample draws events, and both PR-AUCs are computed on the same draw.
 * - Stratified: positives and negatives are drawn separately, so every resample keeps the
 *   window's count of each (a rare class would otherwise leave some resamples with none).
 * - Cheap and bounded: each model's events are sorted once, and a resample is a weight per event
 *   (times drawn), so its PR-AUC is one pass, O(n); the newest {@link BOOTSTRAP_EVENTS_MAX}
 *   events, {@link BOOTSTRAP_RESAMPLES} resamples, and the event loop is yielded to every few.
 * - Deterministic for a seed: the same window gives the same interval.
 */
import { byScoreDesc, rankedAveragePrecision } from "../trainers/metrics.ts";
import { seededRandom } from "../trainers/rng.ts";

export const BOOTSTRAP_RESAMPLES = 200;
export const BOOTSTRAP_EVENTS_MAX = 20_000;
/** Resamples computed between two yields to the event loop. */
const RESAMPLES_PER_TURN = 8;

export interface DifferenceInterval {
  /** Challenger PR-AUC − champion PR-AUC on the window itself. */
  difference: number;
  /** The difference's lower and upper bounds: each is exceeded by chance in (1 − level) / 2. */
  low: number;
  high: number;
  /** Two-sided coverage of [low, high], e.g. 0.9. */
  level: number;
  resamples: number;
  /** Events the interval was computed on (the newest of the window). */
  events: number;
}

export interface BootstrapOptions {
  resamples?: number;
  /** Two-sided coverage of the interval. Default 0.9 (each bound one-sided 95 %). */
  level?: number;
  seed?: number;
}

/**
 * The interval of the PR-AUC difference between `challenger` and `champion` scores of the same
 * events labelled `labels` (0 or 1). Needs at least one positive and one negative.
 */
export async function prAucDifferenceInterval(
  champion: ArrayLike<number>,
  challenger: ArrayLike<number>,
  labels: ArrayLike<number>,
  options: BootstrapOptions = {},
): Promise<DifferenceInterval> {
  const resamples = options.resamples ?? BOOTSTRAP_RESAMPLES;
  const level = options.level ?? 0.9;
  if (!(level > 0 && level < 1)) throw new RangeError(`level ${level}; expected in (0, 1)`);
  if (!(Number.isInteger(resamples) && resamples >= 10)) {
    throw new RangeError(`resamples ${resamples}; expected an integer >= 10`);
  }
  if (champion.length !== labels.length || challenger.length !== labels.length) {
    throw new RangeError("champion, challenger and labels must have one entry per event");
  }
  const from = Math.max(0, labels.length - BOOTSTRAP_EVENTS_MAX);
  const n = labels.length - from;
  const positives: number[] = [];
  const negatives: number[] = [];
  for (let i = 0; i < n; i++) (labels[from + i] === 1 ? positives : negatives).push(i);
  if (positives.length === 0 || negatives.length === 0) {
    throw new RangeError("the window needs at least one positive and one negative event");
  }
  const isPositive = new Uint8Array(n);
  for (const i of positives) isPositive[i] = 1;
  // Each model's events sorted once, highest score first; a resample is then a weight per event
  // (how many times it was drawn) and its PR-AUC one pass in that order: O(n), not O(n log n).
  const championRanking = ranking(champion, from, n);
  const challengerRanking = ranking(challenger, from, n);
  const weights = new Uint32Array(n).fill(1);
  // A ranking's PR-AUC with each event counted as often as the current draw holds it.
  const prAuc = (r: Ranking) =>
    rankedAveragePrecision(r.order, r.scores, isPositive, positives.length, weights);
  const difference = prAuc(challengerRanking) - prAuc(championRanking);

  const random = seededRandom(options.seed ?? 1);
  const differences = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    if (b > 0 && b % RESAMPLES_PER_TURN === 0) await new Promise((r) => setImmediate(r));
    weights.fill(0);
    for (const pool of [positives, negatives]) {
      for (let k = 0; k < pool.length; k++) {
        const event = pool[Math.floor(random() * pool.length)] as number;
        weights[event] = (weights[event] as number) + 1;
      }
    }
    differences[b] = prAuc(challengerRanking) - prAuc(championRanking);
  }
  differences.sort();
  const tail = (1 - level) / 2;
  return {
    difference,
    low: quantileOfSorted(differences, tail),
    high: quantileOfSorted(differences, 1 - tail),
    level,
    resamples,
    events: n,
  };
}

/** A model's scores of the window's events, and their order, highest first. */
interface Ranking {
  order: Uint32Array;
  scores: Float64Array;
}

function ranking(scores: ArrayLike<number>, from: number, n: number): Ranking {
  const own = Float64Array.from({ length: n }, (_, i) => scores[from + i] as number);
  return { order: byScoreDesc(own), scores: own };
}

/** The `q` quantile of ascending `sorted`, interpolated between neighbours. */
function quantileOfSorted(sorted: Float64Array, q: number): number {
  const at = q * (sorted.length - 1);
  const below = Math.floor(at);
  const above = Math.min(sorted.length - 1, below + 1);
  const lower = sorted[below] as number;
  return lower + (at - below) * ((sorted[above] as number) - lower);
}
