/**
 * Validation of a candidate against the champion on the same, most recent slice of labelled
 * examples (rows neither model was trained or tuned on). The candidate passes when its PR-AUC beats
 * the champion's by `margin` and it passes the sanity checks: finite scores in [0, 1], calibration
 * (mean score within a factor of the observed positive rate), and the inference latency budget.
 */
import { loadOnnx, releaseOnnx, scoreBatch } from "../onnx/session.ts";
import { averagePrecision, logLoss } from "../trainers/metrics.ts";

export interface ValidationPolicy {
  /** PR-AUC the candidate must gain over the champion. Default 0.01. */
  margin: number;
  /** Mean score / positive rate must be within [1/x, x]. Default 3. */
  calibrationRatioMax: number;
  /** Mean ONNX time per row on a batch of 256, µs. Default 200. */
  latencyBudgetUsPerRow: number;
  /** The slice needs this many positives to judge anything. Default 20. */
  positivesMin: number;
}

export const DEFAULT_VALIDATION: ValidationPolicy = {
  margin: 0.01,
  calibrationRatioMax: 3,
  latencyBudgetUsPerRow: 200,
  positivesMin: 20,
};

export interface SliceRows {
  names: readonly string[];
  x: Float32Array;
  y: ArrayLike<number>;
  rows: number;
}

export interface ValidationResult {
  passed: boolean;
  /** Why it failed (empty when it passed). */
  reasons: string[];
  metrics: Record<string, number>;
  /** The candidate's scores on the slice (the new drift reference's scores). */
  candidateScores: Float32Array;
}

async function scoreAll(onnx: Uint8Array, slice: SliceRows) {
  const scorer = await loadOnnx(onnx, { featureNames: slice.names });
  try {
    const cols = slice.names.length;
    const scores = new Float32Array(slice.rows);
    const chunk = 4096;
    for (let start = 0; start < slice.rows; start += chunk) {
      const n = Math.min(chunk, slice.rows - start);
      scores.set(
        await scoreBatch(scorer, slice.x.subarray(start * cols, (start + n) * cols), n, cols),
        start,
      );
    }
    // Latency on a serving-sized batch, after the warm-up above.
    const n = Math.min(256, slice.rows);
    const rounds = 20;
    const t0 = performance.now();
    for (let i = 0; i < rounds; i++)
      await scoreBatch(scorer, slice.x.subarray(0, n * cols), n, cols);
    const usPerRow = ((performance.now() - t0) * 1000) / (rounds * n);
    return { scores, usPerRow };
  } finally {
    await releaseOnnx(scorer);
  }
}

/**
 * Judges the candidate (and the champion, when there is one) on the slice.
 *
 * @example const r = await validateCandidate(candidate.onnx, champion?.onnx ?? null, slice, policy);
 */
export async function validateCandidate(
  candidate: Uint8Array,
  champion: Uint8Array | null,
  slice: SliceRows,
  policy: ValidationPolicy = DEFAULT_VALIDATION,
): Promise<ValidationResult> {
  const reasons: string[] = [];
  const metrics: Record<string, number> = { "slice.rows": slice.rows };
  let positives = 0;
  for (let i = 0; i < slice.rows; i++) positives += slice.y[i] === 1 ? 1 : 0;
  metrics["slice.positives"] = positives;
  const c = await scoreAll(candidate, slice);
  const finite = c.scores.every((s) => Number.isFinite(s) && s >= 0 && s <= 1);
  if (!finite) reasons.push("the candidate gives scores that are not finite probabilities");
  const prAuc = averagePrecision(c.scores, slice.y);
  metrics["candidate.pr_auc"] = Number.isNaN(prAuc) ? 0 : prAuc;
  metrics["candidate.log_loss"] = finite ? logLoss(c.scores, slice.y) : Number.MAX_VALUE;
  metrics["candidate.us_per_row"] = c.usPerRow;
  const meanScore = c.scores.reduce((a, b) => a + b, 0) / Math.max(1, slice.rows);
  const rate = positives / Math.max(1, slice.rows);
  const ratio = rate > 0 ? meanScore / rate : Number.POSITIVE_INFINITY;
  metrics["candidate.calibration_ratio"] = Number.isFinite(ratio) ? ratio : Number.MAX_VALUE;
  if (positives < policy.positivesMin) {
    reasons.push(
      `the validation slice has ${positives} positives; at least ${policy.positivesMin} are needed to judge (wait for more labels)`,
    );
  }
  if (!(ratio <= policy.calibrationRatioMax && ratio >= 1 / policy.calibrationRatioMax)) {
    reasons.push(
      `calibration: mean score ${meanScore.toFixed(4)} vs positive rate ${rate.toFixed(4)} (ratio ${ratio.toFixed(2)}; allowed 1/${policy.calibrationRatioMax} to ${policy.calibrationRatioMax})`,
    );
  }
  if (c.usPerRow > policy.latencyBudgetUsPerRow) {
    reasons.push(
      `latency: ${c.usPerRow.toFixed(1)} µs per row; the budget is ${policy.latencyBudgetUsPerRow}`,
    );
  }
  if (champion) {
    const h = await scoreAll(champion, slice);
    const championPrAuc = averagePrecision(h.scores, slice.y);
    metrics["champion.pr_auc"] = Number.isNaN(championPrAuc) ? 0 : championPrAuc;
    metrics["champion.log_loss"] = logLoss(h.scores, slice.y);
    const gain = metrics["candidate.pr_auc"] - metrics["champion.pr_auc"];
    metrics["candidate.pr_auc_gain"] = gain;
    if (!(gain >= policy.margin)) {
      reasons.push(
        `PR-AUC ${metrics["candidate.pr_auc"].toFixed(4)} does not beat the champion's ${metrics["champion.pr_auc"].toFixed(4)} by the margin ${policy.margin}`,
      );
    }
  }
  return { passed: reasons.length === 0, reasons, metrics, candidateScores: c.scores };
}
