/**
 * Offline evaluation of the fraud models, notebook-style.
 *
 *   bun notebooks/fraud-evaluation.ts                  # the report, in Markdown, on stdout
 *   bun notebooks/fraud-evaluation.ts --out report.md  # or into a file
 *
 * It simulates the history `bun run train fraud` trains on (same seed, days and cards by default),
 * trains the same three scorers through the same pipeline (`models/fraud/train.ts`), and looks at
 * them where the training CLI does not: what the labels hide (fraud never reported, how late
 * chargebacks come), which fraud scenarios each scorer catches, what the threshold costs either
 * side of the chosen one, whether the scores are calibrated, which features the trees use, why
 * they flag what they flag (explained per scenario), and how training converged. Every figure is
 * computed on the test period, which neither training nor the threshold's choice has seen.
 */
import { parseArgs } from "node:util";
import * as aq from "arquero";
import { numberOption, parseOrExit, UsageError } from "../models/cli-options.ts";
import { explainerFromOnnx } from "../models/explain/explainer.ts";
import { evaluateFraudScores } from "../models/fraud/evaluate.ts";
import { CATEGORICAL_NAMES, NUMERIC_FEATURES } from "../models/fraud/feature-schema.ts";
import { replayFeatures } from "../models/fraud/replay.ts";
import { rulesScoreRows } from "../models/fraud/rules.ts";
import {
  type FraudHistory,
  simulatedHistory,
  type TrainedFraudModels,
  trainFraudModels,
} from "../models/fraud/train.ts";
import { predictBatch } from "../models/trainers/predict.ts";
import { Report } from "./notebook.ts";

const DAY_MS = 86_400_000;

export interface FraudNotebookOptions {
  seed: number;
  days: number;
  cards: number;
  fraudRate: number;
  reviewFeeUsd: number;
}

/** `bun run train fraud`'s defaults, so the report explains the README's figures. */
export const FRAUD_NOTEBOOK_DEFAULTS: FraudNotebookOptions = {
  seed: 1,
  days: 45,
  cards: 3000,
  fraudRate: 0.01,
  reviewFeeUsd: 5,
};

/** Each scorer's flags on the test period, by the truth behind the labels. */
export interface ScenarioRow {
  scenario: string;
  transactions: number;
  /** Of those, labelled fraud (a chargeback came, within the data or after it). */
  labelledFraud: number;
  /** Share flagged by each scorer at its own threshold. */
  gbt: number;
  logistic: number;
  rules: number;
}

export interface FraudNotebook {
  markdown: string;
  result: TrainedFraudModels;
  scenarios: ScenarioRow[];
  /** Test rows per calibration bin, and the bins' rows summed (= the test rows). */
  calibrationRows: number;
  /** GBT features by summed split gain, highest first, as shares of the total. */
  featureGain: { feature: string; share: number }[];
  /** The GBT's flags of the test period explained, per scenario (cell 8). */
  reasons: ReasonRow[];
}

/** Why the GBT flagged one scenario's transactions of the test period. */
export interface ReasonRow {
  scenario: string;
  flagged: number;
  /** The features that added most to these flags' log-odds, on average, largest first. */
  top: { feature: string; meanContribution: number }[];
  /** The feature most often the first reason of a flag, and how often it is. */
  first: { feature: string; share: number };
  /** The largest gap between a flag's explained log-odds and its score's (adds up: ~0). */
  additivityError: number;
}

/** Runs every cell and returns the report (and the figures a test checks). */
export function fraudEvaluationNotebook(
  options: FraudNotebookOptions = FRAUD_NOTEBOOK_DEFAULTS,
): FraudNotebook {
  const { seed, days, cards, fraudRate, reviewFeeUsd } = options;
  const report = new Report();
  report.heading("Fraud models, evaluated offline", 1);
  report.text(
    `Simulated history: seed ${seed}, ${days} days, ${cards} cards, fraud rate ${fraudRate}; ` +
      `a review costs $${reviewFeeUsd}, a missed fraud its amount. Reproduce with ` +
      `\`bun notebooks/fraud-evaluation.ts --seed ${seed} --days ${days} --cards ${cards}\`.`,
  );

  // ---- 1. The data, and what its labels hide --------------------------------------------------
  const history = simulatedHistory({ seed, days, cards, fraudRate });
  // The transactions a chargeback came for: the fraud that was reported (cells 1 and 4).
  const chargebacked = new Set(
    history.labels.filter((l) => l.is_fraud === 1).map((l) => l.transaction_id),
  );
  dataCell(report, history, chargebacked);

  // ---- 2. Training, through the pipeline `bun run train fraud` runs ----------------------------
  const result = trainFraudModels({
    transactions: history.transactions,
    labels: history.labels,
    seed,
    costs: { reviewFeeUsd },
  });
  periodsCell(report, result);

  // ---- 3. The three scorers on the test period --------------------------------------------------
  holdoutCell(report, result);

  // ---- 4. What each scorer catches, by fraud scenario ------------------------------------------
  const period = periodScores(result, history);
  const scenarios = scenarioCell(report, result, history, period, chargebacked);
  const scores = testScores(result);

  // ---- 5. The threshold: what flagging more or less would cost ----------------------------------
  thresholdCell(report, result, scores);

  // ---- 6. Calibration ---------------------------------------------------------------------------
  const calibrationRows = calibrationCell(report, result, scores);

  // ---- 7. What the trees split on ---------------------------------------------------------------
  const featureGain = featureGainCell(report, result);

  // ---- 8. Why the trees flag what they flag --------------------------------------------------------
  const reasons = reasonsCell(report, result, history, period);

  // ---- 9. How training converged ----------------------------------------------------------------
  convergenceCell(report, result);

  return { markdown: report.toString(), result, scenarios, calibrationRows, featureGain, reasons };
}

function dataCell(report: Report, history: FraudHistory, chargebacked: ReadonlySet<string>): void {
  const txTime = new Map(history.transactions.map((tx) => [tx.transaction_id, tx.timeMs]));
  const frauds = history.fraudScenarios;
  report.heading("1. The data, and what its labels hide");
  report.text(
    `${history.transactions.length} transactions, ${frauds.size} of them fraudulent ` +
      `(${((100 * frauds.size) / history.transactions.length).toFixed(2)} %). A model learns only ` +
      `from labels: a chargeback some days after a fraud, a confirmation weeks after a genuine ` +
      `transaction, and nothing at all for fraud the cardholder never reports.`,
  );
  const byScenario = aq
    .from(
      [...frauds].map(([id, scenario]) => ({
        scenario,
        reported: chargebacked.has(id) ? 1 : 0,
      })),
    )
    .groupby("scenario")
    .rollup({ frauds: aq.op.count(), reported: aq.op.sum("reported") })
    .derive({
      "reported %": (d: { reported: number; frauds: number }) => (100 * d.reported) / d.frauds,
    })
    .orderby(aq.desc("frauds"));
  report.table(byScenario, 1);
  const delays = aq
    .from(
      history.labels.map((label) => ({
        kind: label.kind,
        days:
          (label.labelTimeMs - (txTime.get(label.transaction_id) ?? label.labelTimeMs)) / DAY_MS,
      })),
    )
    .groupby("kind")
    .rollup({
      labels: aq.op.count(),
      "delay p10 (days)": aq.op.quantile("days", 0.1),
      p50: aq.op.median("days"),
      p90: aq.op.quantile("days", 0.9),
      max: aq.op.max("days"),
    })
    .orderby("kind");
  report.text(
    "How long labels take, after their transaction (every label the history's transactions " +
      "get, including those that come after its last day):",
  );
  report.table(delays, 1);
}

function periodsCell(report: Report, result: TrainedFraudModels): void {
  const { data } = result;
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  report.heading("2. The periods");
  report.text(
    `Split by event time, with a ${(data.labelWindowMs / DAY_MS).toFixed(0)}-day gap before ` +
      "each later period, so every row's label had time to arrive before that period's cutoff. " +
      "The threshold is chosen on validation; everything below is the test period.",
  );
  report.table(
    aq.from([
      {
        period: "train",
        from: day(data.fromMs),
        to: day(data.trainEndMs),
        rows: data.rows.train,
        frauds: data.positives.train,
      },
      {
        period: "validation",
        from: day(data.validationStartMs),
        to: day(data.validationEndMs),
        rows: data.rows.validation,
        frauds: data.positives.validation,
      },
      {
        period: "test",
        from: day(data.testStartMs),
        to: day(data.testEndMs),
        rows: data.rows.test,
        frauds: data.positives.test,
      },
    ]),
  );
}

function holdoutCell(report: Report, result: TrainedFraudModels): void {
  report.heading("3. Three scorers on the test period");
  const row = (model: string, e: TrainedFraudModels["gbt"]["test"]) => ({
    model,
    "PR-AUC": e.prAuc,
    "ROC-AUC": e.rocAuc,
    threshold: e.threshold,
    precision: e.precision,
    recall: e.recall,
    F2: e.f2,
    "cost ($)": Math.round(e.costUsd),
    "flag nothing ($)": Math.round(e.costFlagNoneUsd),
  });
  report.table(
    aq.from([
      row("gbt", result.gbt.test),
      row("logistic", result.logistic.test),
      row("rules", result.rules.test),
    ]),
  );
  report.text(
    `Gradient-boosted trees (${result.gbt.model.trees.length} trees) rank fraud best (PR-AUC ` +
      `${result.gbt.test.prAuc.toFixed(4)} against ${result.logistic.test.prAuc.toFixed(4)} and ` +
      `${result.rules.test.prAuc.toFixed(4)}); the cost column is what the decisions at each ` +
      "scorer's own threshold would have cost, next to flagging nothing.",
  );
}

/** The GBT's scores on the test rows (the labelled transactions of the test period). */
function testScores(result: TrainedFraudModels): Float64Array {
  const test = result.splits.gbt.test;
  return predictBatch(result.gbt.model, test.x, test.rows);
}

/**
 * Every transaction of the test period, labelled or not, scored by each scorer: features replayed
 * through the shard's code over the whole history (as training did), with each model's schema.
 */
function periodScores(result: TrainedFraudModels, history: FraudHistory) {
  const { testStartMs, testEndMs } = result.data;
  const inPeriod = (timeMs: number) => timeMs >= testStartMs && timeMs < testEndMs;
  const ids: string[] = [];
  for (const tx of history.transactions) if (inPeriod(tx.timeMs)) ids.push(tx.transaction_id);
  const matrix = (schema: TrainedFraudModels["gbt"]["schema"]) => {
    const cols = schema.names.length;
    const x = new Float64Array(ids.length * cols);
    let row = 0;
    for (const { tx, features } of replayFeatures(history.transactions, schema)) {
      if (inPeriod(tx.timeMs)) x.set(features, cols * row++);
    }
    return { x, cols };
  };
  const gbtRows = matrix(result.gbt.schema);
  const logRows = matrix(result.logistic.schema);
  return {
    ids,
    /** The GBT's feature rows, for its explanations (cell 8). */
    gbtRows,
    gbt: predictBatch(result.gbt.model, gbtRows.x, ids.length),
    logistic: predictBatch(result.logistic.model, logRows.x, ids.length),
    rules: rulesScoreRows(gbtRows.x, ids.length, gbtRows.cols),
  };
}

type PeriodScores = ReturnType<typeof periodScores>;

/** The scenario of the transactions that are no fraud (a flag there is a false alarm). */
const LEGITIMATE = "legitimate";

/** Orders a cell's rows: fraud scenarios by `size`, largest first, then the legitimate row. */
function legitimateLast<R extends { scenario: string }>(size: (row: R) => number) {
  return (a: R, b: R) =>
    a.scenario === LEGITIMATE ? 1 : b.scenario === LEGITIMATE ? -1 : size(b) - size(a);
}

/** The index of the largest value (the first of equals). */
function argMax(values: Float64Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) {
    if ((values[i] as number) > (values[best] as number)) best = i;
  }
  return best;
}

function scenarioCell(
  report: Report,
  result: TrainedFraudModels,
  history: FraudHistory,
  scores: PeriodScores,
  chargebacked: ReadonlySet<string>,
): ScenarioRow[] {
  const thresholds = {
    gbt: result.gbt.threshold.threshold,
    logistic: result.logistic.threshold.threshold,
    rules: result.rules.threshold.threshold,
  };
  const groups = new Map<string, ScenarioRow>();
  scores.ids.forEach((id, r) => {
    const scenario = history.fraudScenarios.get(id) ?? LEGITIMATE;
    let group = groups.get(scenario);
    if (!group) {
      group = { scenario, transactions: 0, labelledFraud: 0, gbt: 0, logistic: 0, rules: 0 };
      groups.set(scenario, group);
    }
    group.transactions++;
    if (chargebacked.has(id)) group.labelledFraud++;
    for (const model of ["gbt", "logistic", "rules"] as const) {
      if ((scores[model][r] as number) >= thresholds[model]) group[model]++;
    }
  });
  const rows = [...groups.values()]
    .map((g) => ({
      ...g,
      gbt: g.gbt / g.transactions,
      logistic: g.logistic / g.transactions,
      rules: g.rules / g.transactions,
    }))
    .sort(legitimateLast((r) => r.transactions));
  const frauds = rows.filter((r) => r.scenario !== LEGITIMATE);
  const unreported = frauds.reduce((n, r) => n + r.transactions - r.labelledFraud, 0);
  report.heading("4. What each scorer catches, by fraud scenario");
  report.text(
    "The simulator knows every fraud's scenario, reported or not; the models never see it. " +
      `Here is every transaction of the test period (${scores.ids.length}), labelled or not: ` +
      "each scorer column is the share of a scenario's transactions it flags at its threshold " +
      "(recall per scenario; on the last row, the false-alarm rate). " +
      `${unreported} of the period's frauds were never reported: they have no label, so the ` +
      "test figures above leave them out, and only this table shows whether they are caught.",
  );
  report.table(
    aq.from(
      rows.map((r) => ({
        scenario: r.scenario,
        transactions: r.transactions,
        chargebacks: r.labelledFraud,
        "gbt flags": r.gbt,
        "logistic flags": r.logistic,
        "rules flag": r.rules,
      })),
    ),
  );
  return rows;
}

/** Reasons listed per scenario. */
const REASONS_SHOWN = 3;
/** One feature first in this share of all flags, and in every scenario, is a shortcut. */
const SHORTCUT_SHARE = 0.8;

function reasonsCell(
  report: Report,
  result: TrainedFraudModels,
  history: FraudHistory,
  period: PeriodScores,
): ReasonRow[] {
  // The explainer the platform serves, from the same ONNX bytes a registration would store.
  const explainer = explainerFromOnnx(result.gbt.onnx, result.gbt.schema.names);
  const threshold = result.gbt.threshold.threshold;
  const { x, cols } = period.gbtRows;
  const names = result.gbt.schema.names;
  const contributions = new Float64Array(cols);
  const groups = new Map<
    string,
    { flagged: number; sums: Float64Array; firsts: Float64Array; error: number }
  >();
  period.ids.forEach((id, r) => {
    const score = period.gbt[r] as number;
    if (score < threshold) return;
    explainer.contributions(x.subarray(r * cols, (r + 1) * cols), contributions);
    const scenario = history.fraudScenarios.get(id) ?? LEGITIMATE;
    let group = groups.get(scenario);
    if (!group) {
      group = {
        flagged: 0,
        sums: new Float64Array(cols),
        firsts: new Float64Array(cols),
        error: 0,
      };
      groups.set(scenario, group);
    }
    group.flagged++;
    let margin = explainer.expectedValue;
    for (let c = 0; c < cols; c++) {
      const value = contributions[c] as number;
      group.sums[c] = (group.sums[c] as number) + value;
      margin += value;
    }
    const first = argMax(contributions);
    group.firsts[first] = (group.firsts[first] as number) + 1;
    group.error = Math.max(group.error, Math.abs(margin - Math.log(score / (1 - score))));
  });
  const rows: ReasonRow[] = [...groups.entries()]
    .map(([scenario, g]) => {
      const top = names
        .map((feature, c) => ({ feature, meanContribution: (g.sums[c] as number) / g.flagged }))
        .sort((a, b) => b.meanContribution - a.meanContribution)
        .slice(0, REASONS_SHOWN);
      const first = argMax(g.firsts);
      return {
        scenario,
        flagged: g.flagged,
        top,
        first: { feature: names[first] as string, share: (g.firsts[first] as number) / g.flagged },
        additivityError: g.error,
      };
    })
    .sort(legitimateLast((r) => r.flagged));
  const signed = (v: number) => `${v >= 0 ? "+" : ""}${v.toFixed(2)}`;
  report.heading("8. Why the trees flag what they flag");
  report.text(
    "Every test-period transaction the trees flag, explained: each feature's contribution to its " +
      "log-odds (exact TreeSHAP, by the explainer the platform serves from the model's ONNX bytes; " +
      "docs/explanations.md). Per scenario, the features that added most on average, and the one " +
      "most often a flag's first reason; the last row is the false alarms, what made genuine " +
      "transactions look like fraud. A typical transaction's log-odds are " +
      `${explainer.expectedValue.toFixed(2)}.`,
  );
  report.table(
    aq.from(
      rows.map((r) => ({
        scenario: r.scenario,
        flags: r.flagged,
        "top reasons (mean log-odds added)": r.top
          .map((t) => `${t.feature} ${signed(t.meanContribution)}`)
          .join(", "),
        "most often first": `${r.first.feature} (${(r.first.share * 100).toFixed(0)} %)`,
      })),
    ),
  );
  report.text(shortcutFinding(rows));
  return rows;
}

/**
 * Whether one feature explains the flags of every scenario: then the trees learnt a trait the
 * scenarios share (in this simulator, where the fraud happens) rather than each one's signature.
 */
function shortcutFinding(rows: readonly ReasonRow[]): string {
  const flags = rows.reduce((n, r) => n + r.flagged, 0);
  const firsts = new Map<string, number>();
  for (const r of rows) {
    firsts.set(r.first.feature, (firsts.get(r.first.feature) ?? 0) + r.first.share * r.flagged);
  }
  const [feature, count] = [...firsts.entries()].sort((a, b) => b[1] - a[1])[0] ?? ["", 0];
  const share = flags > 0 ? count / flags : 0;
  const everywhere = rows.every((r) => r.first.feature === feature);
  const percent = `${(share * 100).toFixed(0)} %`;
  return everywhere && share >= SHORTCUT_SHARE
    ? `Finding: \`${feature}\` is the first reason of ${percent} of all flags, in every ` +
        "scenario and in the false alarms too. The scenarios share that trait, so the trees lean " +
        "on it more than on each scenario's own signature (a burst of tiny amounts, a new device, " +
        "impossible travel). How well fraud without it would be caught is not measured here: " +
        "the simulator makes none."
    : `The first reasons differ by scenario; the most common, \`${feature}\`, leads ${percent} ` +
        "of the flags.";
}

function thresholdCell(report: Report, result: TrainedFraudModels, scores: Float64Array): void {
  const test = result.splits.gbt.test;
  const rows = { scores, labels: test.y, amountsUsd: test.amountUsd };
  const chosen = result.gbt.threshold.threshold;
  const candidates = [...new Set([0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, chosen])].sort(
    (a, b) => a - b,
  );
  const table = candidates.map((threshold) => {
    const e = evaluateFraudScores(rows, threshold, result.costs);
    const flagged = e.tp + e.fp;
    return {
      threshold: threshold === chosen ? `${threshold.toPrecision(4)} (chosen)` : String(threshold),
      flagged,
      // Undefined, not 0, when nothing is flagged.
      precision: flagged === 0 ? Number.NaN : e.precision,
      recall: e.recall,
      "cost ($)": Math.round(e.costUsd),
    };
  });
  const chosenCost = table.find((row) => row.threshold.endsWith("(chosen)"))?.["cost ($)"] ?? 0;
  const { spread } = result.gbt.threshold;
  const cheapest = table.reduce((best, row) => (row["cost ($)"] < best["cost ($)"] ? row : best));
  report.heading("5. The threshold: what flagging more or less would cost");
  report.text(
    "The GBT's threshold is the median of the cheapest thresholds of 200 bootstrap resamples " +
      `of the validation period (their middle half: ${spread.low.toPrecision(3)} to ` +
      `${spread.high.toPrecision(3)}), so that no single fraud decides it. On the test period, ` +
      "the same trade at other thresholds (a review costs the fee, a miss the fraud's amount). " +
      (cheapest["cost ($)"] < chosenCost
        ? `In hindsight ${cheapest.threshold} would have cost $${cheapest["cost ($)"]} against ` +
          `$${chosenCost}: the choice on validation is ` +
          `${((100 * (chosenCost - cheapest["cost ($)"])) / chosenCost).toFixed(0)} % dearer ` +
          "than the test period's best of these."
        : "None of these would have been cheaper in hindsight."),
  );
  report.table(aq.from(table));
}

/** Bins of predicted probability; fraud is rare, so they are finer near 0. */
const CALIBRATION_EDGES = [0, 0.001, 0.01, 0.1, 0.5, 0.9, 1.0000001];

function calibrationCell(report: Report, result: TrainedFraudModels, scores: Float64Array): number {
  const test = result.splits.gbt.test;
  const table = aq
    .from(
      Array.from({ length: test.rows }, (_, r) => {
        const score = scores[r] as number;
        let bin = 0;
        while (
          bin < CALIBRATION_EDGES.length - 2 &&
          score >= (CALIBRATION_EDGES[bin + 1] as number)
        )
          bin++;
        return { bin, score, fraud: test.y[r] as number };
      }),
    )
    .groupby("bin")
    .rollup({
      rows: aq.op.count(),
      "mean score": aq.op.mean("score"),
      "fraud rate": aq.op.mean("fraud"),
    })
    .orderby("bin");
  type BinRow = { bin: number; rows: number; "mean score": number; "fraud rate": number };
  const labelled = (table.objects() as BinRow[]).map((row) => {
    const bin = row.bin;
    const low = CALIBRATION_EDGES[bin] as number;
    const high = Math.min(1, CALIBRATION_EDGES[bin + 1] as number);
    return {
      scores: `${low} to ${high}`,
      rows: row.rows,
      "mean score": row["mean score"],
      "fraud rate": row["fraud rate"],
    };
  });
  report.heading("6. Calibration");
  report.text(
    "Within each band of GBT scores, the mean score against the share of labelled fraud. Where " +
      "they agree a score reads as a probability; the decision only needs the ranking and the " +
      "threshold, so a miscalibrated band costs nothing until someone reads scores as odds.",
  );
  report.table(aq.from(labelled));
  return labelled.reduce((sum, row) => sum + row.rows, 0);
}

function featureGainCell(
  report: Report,
  result: TrainedFraudModels,
): { feature: string; share: number }[] {
  const model = result.gbt.model;
  const gain = new Float64Array(model.featureNames.length);
  let total = 0;
  for (const tree of model.trees) {
    for (let node = 0; node < tree.feature.length; node++) {
      const feature = tree.feature[node] as number;
      if (feature < 0) continue;
      gain[feature] = (gain[feature] as number) + (tree.gain[node] as number);
      total += tree.gain[node] as number;
    }
  }
  const ranked = model.featureNames
    .map((feature, i) => ({ feature, share: total > 0 ? (gain[i] as number) / total : 0 }))
    .sort((a, b) => b.share - a.share);
  const unused = ranked.filter((f) => f.share === 0).map((f) => f.feature);
  report.heading("7. What the trees split on");
  report.text(
    `Summed split gain per feature over the ${model.trees.length} trees, as a share of the total ` +
      `(the top 15 of ${model.featureNames.length}: ${NUMERIC_FEATURES.length} numeric features, ` +
      `from the card's state and the event, and ${CATEGORICAL_NAMES.length} categorical ones).`,
  );
  report.table(aq.from(ranked.slice(0, 15)));
  report.text(
    unused.length === 0
      ? "Every feature is used by some split."
      : `Never split on: ${unused.join(", ")}.`,
  );
  return ranked;
}

function convergenceCell(report: Report, result: TrainedFraudModels): void {
  const model = result.gbt.model;
  const { train, validation } = model.history;
  const rounds = [...new Set([1, 10, 25, 50, 100, 200, 300, model.bestIteration, model.roundsRun])]
    .filter((round) => round >= 1 && round <= model.roundsRun)
    .sort((a, b) => a - b);
  report.heading("9. How training converged");
  const stopped =
    model.roundsRun < model.params.rounds
      ? `stopped early, ${model.params.earlyStoppingRounds} rounds after the validation loss ` +
        "last improved"
      : `reached its limit of ${model.params.rounds} rounds before early stopping ` +
        `(${model.params.earlyStoppingRounds} rounds without improvement) could end it`;
  report.text(
    `Log loss after each round, on the training rows and on the validation period. Training ` +
      `ran ${model.roundsRun} rounds (${stopped}) and kept the first ${model.bestIteration}, ` +
      "where the validation loss was lowest.",
  );
  report.table(
    aq.from(
      rounds.map((round) => ({
        round: round === model.bestIteration ? `${round} (kept)` : String(round),
        "training loss": train[round - 1] ?? Number.NaN,
        "validation loss": validation[round - 1] ?? Number.NaN,
      })),
    ),
  );
}

const USAGE = `usage: bun notebooks/fraud-evaluation.ts [options]

Trains the fraud scorers on simulated history as \`bun run train fraud\` does and prints an
offline evaluation in Markdown: labels and their delays, the three scorers on the test period,
recall per fraud scenario, cost by threshold, calibration, feature gain, convergence.

  --seed N         simulation and training seed (default 1)
  --days N         simulated days, [1, 366] (default 45)
  --cards N        cards, [100, 200000] (default 3000)
  --fraud-rate X   share of fraudulent transactions, [0.001, 0.2] (default 0.01)
  --review-fee X   USD a review costs (default 5)
  --out FILE       write the report there instead of stdout
  -h, --help       this text`;

function parse(argv: string[]): FraudNotebookOptions & { out?: string } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      seed: { type: "string" },
      days: { type: "string" },
      cards: { type: "string" },
      "fraud-rate": { type: "string" },
      "review-fee": { type: "string" },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) throw new UsageError("");
  if (positionals.length > 0) {
    throw new UsageError(`"${positionals.join(" ")}" is not an option; expected --seed, --days…`);
  }
  const d = FRAUD_NOTEBOOK_DEFAULTS;
  return {
    seed: numberOption(values.seed, "seed", 0, 2 ** 32 - 1, true) ?? d.seed,
    days: numberOption(values.days, "days", 1, 366, false) ?? d.days,
    cards: numberOption(values.cards, "cards", 100, 200_000, true) ?? d.cards,
    fraudRate: numberOption(values["fraud-rate"], "fraud-rate", 0.001, 0.2, false) ?? d.fraudRate,
    reviewFeeUsd:
      numberOption(values["review-fee"], "review-fee", 0, 10_000, false) ?? d.reviewFeeUsd,
    out: values.out,
  };
}

if (import.meta.main) {
  const options = parseOrExit(USAGE, parse);
  const started = performance.now();
  const { markdown } = fraudEvaluationNotebook(options);
  if (options.out) {
    await Bun.write(options.out, markdown);
    console.error(`wrote ${options.out} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } else {
    process.stdout.write(markdown);
  }
}
