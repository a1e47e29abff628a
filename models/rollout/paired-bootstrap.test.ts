/**
 * The rollout's statistics, judged by what they decide: on windows like a fraud rollout's first
 * (2,000 labels, ~1 % positives), an equally good challenger was rolled back about half the time
 * by comparing point PR-AUCs; the interval lets it through, and still stops a worse one.
 */
import { describe, expect, test } from "bun:test";
import { averagePrecision } from "../trainers/metrics.ts";
import { normal, seededRandom } from "../trainers/rng.ts";
import type { ComparisonResult } from "./comparison.ts";
import { prAucDifferenceInterval } from "./paired-bootstrap.ts";
import { DEFAULT_ROLLOUT, rolloutVerdict } from "./rollout.ts";

const EVENTS = 2000;
const POSITIVE_RATE = 0.012;
const WINDOWS = 40;

/**
 * One window: both models see the same events; each score is the event's signal plus the model's
 * own noise. `challengerNoise` above `championNoise` makes a worse challenger.
 */
function window(seed: number, championNoise: number, challengerNoise: number) {
  const random = seededRandom(seed);
  const gaussian = () => normal(random);
  const labels = new Float64Array(EVENTS);
  const champion = new Float64Array(EVENTS);
  const challenger = new Float64Array(EVENTS);
  for (let i = 0; i < EVENTS; i++) {
    labels[i] = random() < POSITIVE_RATE ? 1 : 0;
    const signal = labels[i] === 1 ? 2.2 : 0;
    champion[i] = signal + championNoise * gaussian();
    challenger[i] = signal + challengerNoise * gaussian();
  }
  return { labels, champion, challenger };
}

async function verdicts(championNoise: number, challengerNoise: number) {
  const counts = { pointFails: 0, pass: 0, fail: 0, wait: 0 };
  for (let w = 0; w < WINDOWS; w++) {
    const { labels, champion, challenger } = window(100 + w, championNoise, challengerNoise);
    const result: ComparisonResult = {
      labelled: EVENTS,
      positives: labels.reduce((n, l) => n + l, 0),
      championPrAuc: averagePrecision(champion, labels),
      challengerPrAuc: averagePrecision(challenger, labels),
      championLogLoss: 0,
      challengerLogLoss: 0,
    };
    // The rule before: the point estimates, with no margin.
    if (result.challengerPrAuc < result.championPrAuc) counts.pointFails++;
    const interval = await prAucDifferenceInterval(champion, challenger, labels);
    counts[rolloutVerdict(result, interval, DEFAULT_ROLLOUT.tolerance, false)]++;
  }
  return counts;
}

describe("PR-AUC difference interval (paired, stratified bootstrap)", () => {
  test("an equally good challenger: the point rule rolls it back often, the interval seldom", async () => {
    const counts = await verdicts(1, 1);
    expect(counts.pointFails).toBeGreaterThan(WINDOWS * 0.3);
    // Each bound errs one time in twenty at most, by construction; the margin helps too.
    expect(counts.fail).toBeLessThanOrEqual(WINDOWS * 0.1);
  });

  test("a clearly worse challenger is never passed, and mostly failed at once", async () => {
    const counts = await verdicts(0.8, 1.6);
    expect(counts.pass).toBe(0);
    expect(counts.fail).toBeGreaterThan(WINDOWS * 0.7);
  });

  test("the interval holds the difference; identical rankings give exactly 0; a seed repeats", async () => {
    const { labels, champion, challenger } = window(7, 1, 1);
    const interval = await prAucDifferenceInterval(champion, challenger, labels);
    expect(interval.low).toBeLessThanOrEqual(interval.difference);
    expect(interval.high).toBeGreaterThanOrEqual(interval.difference);
    expect(interval.events).toBe(EVENTS);
    // The window's own difference is the two models' average precisions'.
    expect(interval.difference).toBeCloseTo(
      averagePrecision(challenger, labels) - averagePrecision(champion, labels),
      12,
    );
    expect(await prAucDifferenceInterval(champion, challenger, labels)).toEqual(interval);
    const shifted = champion.map((s) => s + 0.05);
    const same = await prAucDifferenceInterval(champion, shifted, labels);
    expect([same.difference, same.low, same.high]).toEqual([0, 0, 0]);
  });

  test("a window without positives, or of mismatched lengths, is refused", async () => {
    const none = new Float64Array(10);
    await expect(prAucDifferenceInterval(none, none, none)).rejects.toThrow(/positive/);
    await expect(prAucDifferenceInterval(none, none.subarray(1), none)).rejects.toThrow(
      /one entry per event/,
    );
  });
});
