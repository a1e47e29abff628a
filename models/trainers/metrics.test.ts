import { describe, expect, test } from "bun:test";
import {
  averagePrecision,
  byScoreDesc,
  logLoss,
  mae,
  qualityAt,
  rankedAveragePrecision,
  rankingQuality,
  rmse,
  rocAuc,
} from "./metrics.ts";
import { seededRandom } from "./rng.ts";

describe("averagePrecision", () => {
  test("steps precision over recall, highest score first", () => {
    // 0.9: P 1/1, R 1/2; 0.8: R unchanged; 0.3: P 2/3, R 1 → 0.5·1 + 0.5·2/3.
    expect(averagePrecision([0.9, 0.8, 0.3], [1, 0, 1])).toBeCloseTo(5 / 6, 12);
  });

  test("a tie is one threshold, whatever the row order", () => {
    // Group 0.8 holds one positive and one negative: P 1/2 at R 1/2, then P 2/4 at R 1.
    expect(averagePrecision([0.8, 0.8, 0.5, 0.5], [1, 0, 1, 0])).toBeCloseTo(0.5, 12);
    expect(averagePrecision([0.8, 0.8, 0.5, 0.5], [0, 1, 0, 1])).toBeCloseTo(0.5, 12);
    // All tied: one threshold, AP is the positive rate.
    expect(averagePrecision([0.3, 0.3, 0.3, 0.3], [1, 0, 0, 0])).toBeCloseTo(0.25, 12);
  });

  test("perfect ranking scores 1; no positives is NaN", () => {
    expect(averagePrecision([0.9, 0.7, 0.1], [1, 1, 0])).toBe(1);
    expect(averagePrecision([0.9, 0.1], [0, 0])).toBeNaN();
  });
});

describe("rocAuc", () => {
  test("counts tied pairs as one half", () => {
    // Pairs (pos, neg): (0.9,0.5)=1 (0.9,0.1)=1 (0.5,0.5)=½ (0.5,0.1)=1 → 3.5/4.
    expect(rocAuc([0.9, 0.5, 0.5, 0.1], [1, 1, 0, 0])).toBeCloseTo(0.875, 12);
    expect(rocAuc([0.4, 0.4, 0.4], [1, 0, 1])).toBeCloseTo(0.5, 12);
  });

  test("perfect, inverted, and undefined with one class", () => {
    expect(rocAuc([0.9, 0.8, 0.2], [1, 1, 0])).toBe(1);
    expect(rocAuc([0.1, 0.2, 0.9], [1, 1, 0])).toBe(0);
    expect(rocAuc([0.1, 0.2], [1, 1])).toBeNaN();
  });
});

/** PR-AUC over the rows ranked through a comparator: how averagePrecision computed it before. */
function averagePrecisionByIndexSort(scores: Float64Array, labels: Uint8Array): number {
  let positives = 0;
  for (const label of labels) positives += label;
  if (positives === 0) return Number.NaN;
  return rankedAveragePrecision(byScoreDesc(scores), scores, labels, positives);
}

/** ROC-AUC from the mid-ranks of the rows ranked through a comparator: how rocAuc computed it. */
function rocAucByMidRanks(scores: Float64Array, labels: Uint8Array): number {
  const n = scores.length;
  const order = byScoreDesc(scores);
  let positives = 0;
  let rankSumPositives = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j < n && scores[order[j] as number] === scores[order[i] as number]) j++;
    const midRank = n - (i + j - 1) / 2;
    for (let k = i; k < j; k++) {
      if (labels[order[k] as number] === 1) {
        positives++;
        rankSumPositives += midRank;
      }
    }
    i = j;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSumPositives - (positives * (positives + 1)) / 2) / (positives * negatives);
}

describe("rankingQuality", () => {
  test("gives exactly what ranking the rows through a comparator gives, ties and skew included", () => {
    const random = seededRandom(11);
    for (let trial = 0; trial < 200; trial++) {
      const rows = 1 + Math.floor(random() * 3_000);
      const positiveRate = [0.01, 0.2, 0.5, 0.99][trial % 4] as number;
      // Few distinct values in some trials, so ties within and across the classes are common.
      const levels = [3, 50, 1e6][trial % 3] as number;
      const scores = new Float64Array(rows);
      const labels = new Uint8Array(rows);
      for (let i = 0; i < rows; i++) {
        const label = random() < positiveRate ? 1 : 0;
        labels[i] = label;
        scores[i] = Math.floor((random() * 0.6 + label * 0.4) * levels) / levels;
      }
      const both = rankingQuality(scores, labels);
      expect(both.averagePrecision).toBe(averagePrecisionByIndexSort(scores, labels));
      expect(both.rocAuc).toBe(rocAucByMidRanks(scores, labels));
      expect(averagePrecision(scores, labels)).toBe(both.averagePrecision);
      expect(rocAuc(scores, labels)).toBe(both.rocAuc);
    }
  });

  test("is undefined where each metric is: no rows, no positives, one class", () => {
    expect(rankingQuality([], [])).toEqual({ averagePrecision: Number.NaN, rocAuc: Number.NaN });
    expect(rankingQuality([0.9, 0.1], [0, 0])).toEqual({
      averagePrecision: Number.NaN,
      rocAuc: Number.NaN,
    });
    expect(rankingQuality([0.9, 0.1], [1, 1])).toEqual({ averagePrecision: 1, rocAuc: Number.NaN });
  });

  test("refuses scores and labels of different lengths, and a NaN score", () => {
    expect(() => rankingQuality([0.1, 0.2], [1])).toThrow(/labels/);
    expect(() => rankingQuality([0.1, Number.NaN], [1, 0])).toThrow(/row 1 is NaN/);
    expect(() => averagePrecision([Number.NaN], [1])).toThrow(/row 0 is NaN/);
  });

  test("ranks infinite scores first and last, as the comparator did", () => {
    const scores = new Float64Array([Number.POSITIVE_INFINITY, 0.5, Number.NEGATIVE_INFINITY, 0.5]);
    const labels = new Uint8Array([1, 0, 0, 1]);
    expect(rankingQuality(scores, labels)).toEqual({
      averagePrecision: averagePrecisionByIndexSort(scores, labels),
      rocAuc: rocAucByMidRanks(scores, labels),
    });
    expect(rankingQuality(scores, labels).rocAuc).toBeCloseTo(0.875, 12);
  });
});

describe("logLoss", () => {
  test("mean cross-entropy in nats, optionally weighted", () => {
    expect(logLoss([0.8, 0.3], [1, 0])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.7)) / 2, 12);
    expect(logLoss([0.8, 0.3], [1, 0], [3, 1])).toBeCloseTo(
      -(3 * Math.log(0.8) + Math.log(0.7)) / 4,
      12,
    );
  });

  test("a confident mistake is large but finite", () => {
    expect(logLoss([0], [1])).toBeCloseTo(-Math.log(1e-15), 6);
  });
});

describe("qualityAt", () => {
  test("precision, recall, F1 and F2; a score equal to the threshold is flagged", () => {
    const q = qualityAt([0.9, 0.75, 0.7, 0.1], [1, 1, 0, 1], 0.75, 2);
    expect([q.tp, q.fp, q.fn, q.tn]).toEqual([2, 0, 1, 1]);
    expect(q.precision).toBe(1);
    expect(q.recall).toBeCloseTo(2 / 3, 12);
    expect(q.fBeta).toBeCloseTo((5 * (2 / 3)) / (4 + 2 / 3), 12);
    expect(qualityAt([0.9, 0.75, 0.7, 0.1], [1, 1, 0, 1], 0.75).fBeta).toBeCloseTo(0.8, 12);
  });

  test("nothing flagged has precision 0", () => {
    const q = qualityAt([0.1, 0.2], [1, 0], 0.5);
    expect(q.precision).toBe(0);
    expect(q.recall).toBe(0);
    expect(q.fBeta).toBe(0);
  });
});

describe("regression errors", () => {
  test("MAE and RMSE", () => {
    expect(mae([1, 2, 3], [2, 2, 5])).toBe(1);
    expect(rmse([1, 2, 3], [2, 2, 5])).toBeCloseTo(Math.sqrt(5 / 3), 12);
  });
});
