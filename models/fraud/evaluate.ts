/**
 * Judging fraud scores: ranking quality (PR-AUC, ROC-AUC), quality at the decision threshold
 * (precision, recall, F2) and what the decisions cost in dollars.
 *
 * The cost model: every flagged transaction is reviewed for `reviewFeeUsd` (fraud or not), and a
 * missed fraud costs its amount in USD plus `chargebackFeeUsd`. The threshold is the one with the
 * lowest total cost on the validation slice, steadied by the bootstrap (`chooseThresholdResampled`:
 * the median of the cheapest thresholds of 200 resamples, so one large fraud does not decide it);
 * the test slice is then judged at it. F2 weighs recall over precision, the original project's primary metric.
 */
import { ValidationError } from "../../runtime/errors.ts";
import { averagePrecision, qualityAt, rocAuc } from "../trainers/metrics.ts";
import { chooseThresholdResampled, type ResampledThresholdChoice } from "../trainers/threshold.ts";
import type { Currency, TransactionEvent } from "./schema.ts";
import { CURRENCY_PER_USD } from "./simulator/cities.ts";

/** What a decision costs; in US dollars. */
export interface FraudCosts {
  /** Reviewing one flagged transaction (an analyst's time, a call to the cardholder). */
  reviewFeeUsd: number;
  /** Added to the amount of every missed fraud (the chargeback fee). Default 0. */
  chargebackFeeUsd?: number;
}

/** Bound on any fee: far above real ones, far below float trouble. */
export const FEE_USD_MAX = 1_000_000;

/** Checks the costs; throws a ValidationError naming the bad field. */
export function validateCosts(costs: FraudCosts): Required<FraudCosts> {
  const out = { reviewFeeUsd: costs.reviewFeeUsd, chargebackFeeUsd: costs.chargebackFeeUsd ?? 0 };
  for (const [name, value] of Object.entries(out)) {
    if (!Number.isFinite(value) || value < 0 || value > FEE_USD_MAX) {
      throw new ValidationError(
        `costs.${name}`,
        `${value} is out of range; expected a number of US dollars in [0, ${FEE_USD_MAX}]`,
      );
    }
  }
  return out;
}

/**
 * The transaction's amount in US dollars. The rates are the simulator's fixed table: the platform
 * has no exchange-rate feed, and a cost model only needs the order of magnitude (a missed ¥15 000
 * fraud is a $100 loss, not a $15 000 one).
 */
export function amountUsd(tx: Pick<TransactionEvent, "amount" | "currency">): number {
  return tx.amount / CURRENCY_PER_USD[tx.currency as Currency];
}

/** Quality of one scorer on one slice. Undefined values (no positives) are NaN. */
export interface FraudEvaluation {
  rows: number;
  positives: number;
  /** Average precision (step-wise, no interpolation). */
  prAuc: number;
  rocAuc: number;
  /** Rows with score ≥ threshold are flagged. */
  threshold: number;
  precision: number;
  recall: number;
  f2: number;
  tp: number;
  fp: number;
  fn: number;
  tn: number;
  /** Total cost of the decisions at the threshold. */
  costUsd: number;
  /** Cost of flagging nothing (every fraud missed): the baseline a model must improve on. */
  costFlagNoneUsd: number;
}

/** What a slice is judged on: scores, 0/1 labels and each row's amount in USD. */
export interface ScoredRows {
  scores: ArrayLike<number>;
  labels: ArrayLike<number>;
  amountsUsd: ArrayLike<number>;
}

function missedCosts(rows: ScoredRows, costs: Required<FraudCosts>): Float64Array {
  const out = new Float64Array(rows.amountsUsd.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = (rows.amountsUsd[i] as number) + costs.chargebackFeeUsd;
  }
  return out;
}

/**
 * The threshold with the lowest expected cost on these rows (use the validation slice), as the
 * median over bootstrap resamples of them (`chooseThresholdResampled`).
 *
 * @example
 * const { threshold } = chooseFraudThreshold(validationRows, { reviewFeeUsd: 5 });
 */
export function chooseFraudThreshold(
  rows: ScoredRows,
  costs: FraudCosts,
): ResampledThresholdChoice {
  const c = validateCosts(costs);
  return chooseThresholdResampled({
    scores: rows.scores,
    labels: rows.labels,
    fnCost: missedCosts(rows, c),
    fpCost: c.reviewFeeUsd,
    tpCost: c.reviewFeeUsd,
  });
}

/**
 * Every figure of {@link FraudEvaluation} for scores at a given threshold.
 *
 * @example
 * const test = evaluateFraudScores(testRows, threshold, { reviewFeeUsd: 5 });
 * console.log(test.prAuc, test.costUsd);
 */
export function evaluateFraudScores(
  rows: ScoredRows,
  threshold: number,
  costs: FraudCosts,
): FraudEvaluation {
  const c = validateCosts(costs);
  const { scores, labels } = rows;
  if (rows.amountsUsd.length !== labels.length) {
    throw new ValidationError(
      "amountsUsd",
      `has length ${rows.amountsUsd.length}; expected ${labels.length} (one per row)`,
    );
  }
  const q = qualityAt(scores, labels, threshold, 2);
  const missed = missedCosts(rows, c);
  let costUsd = 0;
  let costFlagNoneUsd = 0;
  for (let i = 0; i < labels.length; i++) {
    const fraud = labels[i] === 1;
    if (fraud) costFlagNoneUsd += missed[i] as number;
    if ((scores[i] as number) >= threshold) costUsd += c.reviewFeeUsd;
    else if (fraud) costUsd += missed[i] as number;
  }
  return {
    rows: labels.length,
    positives: q.tp + q.fn,
    prAuc: averagePrecision(scores, labels),
    rocAuc: rocAuc(scores, labels),
    threshold,
    precision: q.precision,
    recall: q.recall,
    f2: q.fBeta,
    tp: q.tp,
    fp: q.fp,
    fn: q.fn,
    tn: q.tn,
    costUsd,
    costFlagNoneUsd,
  };
}

/**
 * The figures as flat `name → number` metrics for a model registry (finite values only: an
 * undefined metric is left out rather than stored as NaN).
 *
 * @example metricsRecord("test", evaluation) // { "test.pr_auc": 0.81, "test.cost_usd": 1234, … }
 */
export function metricsRecord(prefix: string, e: FraudEvaluation): Record<string, number> {
  const all: Record<string, number> = {
    rows: e.rows,
    positives: e.positives,
    pr_auc: e.prAuc,
    roc_auc: e.rocAuc,
    threshold: e.threshold,
    precision: e.precision,
    recall: e.recall,
    f2: e.f2,
    tp: e.tp,
    fp: e.fp,
    fn: e.fn,
    cost_usd: e.costUsd,
    cost_flag_none_usd: e.costFlagNoneUsd,
  };
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(all)) {
    if (Number.isFinite(value)) out[`${prefix}.${name}`] = value;
  }
  return out;
}

const COLUMNS: [string, (e: FraudEvaluation) => string][] = [
  ["PR-AUC", (e) => e.prAuc.toFixed(4)],
  ["ROC-AUC", (e) => e.rocAuc.toFixed(4)],
  ["threshold", (e) => (Number.isFinite(e.threshold) ? e.threshold.toPrecision(3) : "none")],
  ["precision", (e) => e.precision.toFixed(3)],
  ["recall", (e) => e.recall.toFixed(3)],
  ["F2", (e) => e.f2.toFixed(3)],
  ["flagged", (e) => String(e.tp + e.fp)],
  ["cost USD", (e) => e.costUsd.toFixed(0)],
  ["no-model USD", (e) => e.costFlagNoneUsd.toFixed(0)],
];

/**
 * A plain-text table of evaluations, one row per scorer, for the CLI and the benchmark.
 *
 * @example console.log(formatEvaluationTable([["gbt", gbtTest], ["rules", rulesTest]]));
 */
export function formatEvaluationTable(rows: [string, FraudEvaluation][]): string {
  const header = ["model", ...COLUMNS.map(([name]) => name)];
  const body = rows.map(([name, e]) => [name, ...COLUMNS.map(([, cell]) => cell(e))]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join("  ");
  return [line(header), ...body.map(line)].join("\n");
}
