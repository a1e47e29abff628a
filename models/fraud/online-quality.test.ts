import { describe, expect, test } from "bun:test";
import { registry } from "../../runtime/metrics.ts";
import { averagePrecision, qualityAt, rocAuc } from "../trainers/metrics.ts";
import { OnlineQuality } from "./online-quality.ts";

/** A seeded stream of (score, label): positives score higher on average. */
function stream(n: number, seed: number): { scores: number[]; labels: (0 | 1)[] } {
  let s = seed;
  const random = () => {
    s = (s * 1_103_515_245 + 12_345) % 2_147_483_648;
    return s / 2_147_483_648;
  };
  const scores: number[] = [];
  const labels: (0 | 1)[] = [];
  for (let i = 0; i < n; i++) {
    const label: 0 | 1 = random() < 0.2 ? 1 : 0;
    labels.push(label);
    scores.push(Math.min(1, Math.max(0, random() * 0.7 + label * 0.3)));
  }
  return { scores, labels };
}

describe("OnlineQuality", () => {
  test("the window's values equal the trainers' metrics over the same labelled predictions", () => {
    const quality = new OnlineQuality({ usecase: "test_a", gauges: false });
    const { scores, labels } = stream(500, 1);
    for (let i = 0; i < scores.length; i++) {
      quality.record(3, 0.6, scores[i] as number, labels[i] as 0 | 1);
    }
    const [q] = quality.snapshot(true).versions;
    const at = qualityAt(scores, labels, 0.6, 2);
    expect(q?.model_version).toBe(3);
    expect(q?.labels).toBe(500);
    expect(q?.pr_auc).toBeCloseTo(averagePrecision(scores, labels), 12);
    expect(q?.roc_auc).toBeCloseTo(rocAuc(scores, labels), 12);
    expect(q?.precision).toBeCloseTo(at.precision, 12);
    expect(q?.recall).toBeCloseTo(at.recall, 12);
    expect(q?.f2).toBeCloseTo(at.fBeta, 12);
  });

  test("the window slides: only the most recent N count", () => {
    const quality = new OnlineQuality({ usecase: "test_b", windowSize: 100, gauges: false });
    const { scores, labels } = stream(350, 2);
    for (let i = 0; i < scores.length; i++) {
      quality.record(1, 0.5, scores[i] as number, labels[i] as 0 | 1);
    }
    const [q] = quality.snapshot(true).versions;
    const recentScores = scores.slice(-100);
    const recentLabels = labels.slice(-100);
    expect(q?.labels).toBe(100);
    expect(q?.total).toBe(350);
    expect(q?.pr_auc).toBeCloseTo(averagePrecision(recentScores, recentLabels), 12);
    expect(q?.roc_auc).toBeCloseTo(rocAuc(recentScores, recentLabels), 12);
    expect(q?.f2).toBeCloseTo(qualityAt(recentScores, recentLabels, 0.5, 2).fBeta, 12);
  });

  test("recomputed at most every refreshMs, per version, and bounded in versions", async () => {
    const quality = new OnlineQuality({ usecase: "test_c", refreshMs: 2_000, maxVersions: 2 });
    quality.record(1, 0.5, 0.9, 1);
    quality.record(1, 0.5, 0.1, 0);
    quality.refresh(10_000);
    expect(quality.snapshot().versions[0]?.labels).toBe(2);
    quality.record(1, 0.5, 0.2, 1);
    quality.refresh(11_000); // under 2 s since the last: not recomputed
    expect(quality.snapshot().versions[0]?.labels).toBe(2);
    quality.refresh(12_000);
    expect(quality.snapshot().versions[0]?.labels).toBe(3);
    // A third version drops the least recently labelled one, and its gauge series.
    quality.record(2, 0.5, 0.8, 1);
    quality.record(2, 0.5, 0.3, 0);
    quality.record(3, 0.4, 0.7, 1);
    quality.record(3, 0.4, 0.2, 0);
    quality.refresh(20_000);
    expect(quality.snapshot().versions.map((v) => v.model_version)).toEqual([2, 3]);
    const text = await registry.metrics();
    expect(text).toMatch(
      /coelho_model_quality\{usecase="test_c",model_version="3",metric="roc_auc"\} 1/,
    );
    expect(text).not.toContain('usecase="test_c",model_version="1"');
  });

  test("undefined values are NaN in the snapshot and absent from the gauges", async () => {
    const quality = new OnlineQuality({ usecase: "test_d" });
    quality.record(1, 0.5, 0.3, 0);
    quality.record(1, 0.5, 0.6, 0);
    quality.refresh(0, true);
    const [q] = quality.snapshot().versions;
    expect(q?.pr_auc).toBeNaN();
    expect(q?.roc_auc).toBeNaN();
    expect(q?.precision).toBe(0);
    const text = await registry.metrics();
    expect(text).toContain(
      'coelho_model_quality{usecase="test_d",model_version="1",metric="precision"} 0',
    );
    expect(text).not.toContain('usecase="test_d",model_version="1",metric="pr_auc"');
  });
});
