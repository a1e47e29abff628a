/**
 * The fraud training pipeline: recorded (or simulated) transactions and labels in, a GBT and a
 * logistic regression out, each with its feature schema, ONNX bytes, cost-chosen threshold and
 * figures on a test period nothing in training has seen, next to the rules baseline.
 *
 * The rules against the original project's mistakes (3–5):
 * - **Time-based splits.** Train, validation and test are consecutive periods of event time.
 *   Validation is for early stopping and the threshold; test only for the final figures.
 * - **No label leakage.** A row carries only the label known by the start of the next period:
 *   training labels arrived before the validation period starts, validation labels before the
 *   test period starts; test rows get every label known (an evaluation after the fact).
 * - **Label gaps.** A chargeback comes days after its transaction, a confirmation a week or
 *   more, so the newest rows before a cutoff have their frauds labelled and many legitimate ones
 *   not yet: kept, they would look far fraudier than they are. Each period therefore ends a label
 *   window (7 days) before its cutoff: the gaps between periods, and the one before the latest
 *   event, hold transactions that are card history only, rows of no split. A row still unlabelled
 *   at its cutoff (or never labelled: unreported fraud) is left out.
 * - **No skew.** The feature schema (category lists) is built from the training period only and
 *   saved with the model; features are replayed through the shard's own code (`replay.ts`), card
 *   states folding over the whole history so a validation row sees the history before it.
 */

import { ValidationError } from "../../runtime/errors.ts";
import { parseIsoTimestampMs } from "../../runtime/iso-timestamp.ts";
import { importanceMetrics } from "../explain/importance.ts";
import { exportOnnx } from "../onnx/export.ts";
import type { FeatureSchemaLike, NewModelVersion, TopicOffsetRange } from "../registry/types.ts";
import type { Dataset, SplitFractions } from "../trainers/dataset.ts";
import { type GbtModel, type GbtParams, trainGbt } from "../trainers/gbt.ts";
import { type LogisticModel, type LogisticParams, trainLogistic } from "../trainers/logistic.ts";
import { predictBatch } from "../trainers/predict.ts";
import type { ResampledThresholdChoice } from "../trainers/threshold.ts";
import { fraudDriftReference } from "./drift-reference.ts";
import {
  amountUsd,
  chooseFraudThreshold,
  evaluateFraudScores,
  type FraudCosts,
  type FraudEvaluation,
  metricsRecord,
  validateCosts,
} from "./evaluate.ts";
import { buildFeatureSchema, type FeatureSchema } from "./feature-schema.ts";
import { replayFeatures } from "./replay.ts";
import { rulesScoreRows } from "./rules.ts";
import type { Label, LabelEvent, Transaction } from "./schema.ts";
import type { FraudScenario } from "./simulator/scenarios.ts";
import { CARDS_MAX, FraudSimulation, type SimulationStats } from "./simulator/simulation.ts";

/** Bound on the transactions one training run takes (~1.2 GB of one-hot features at the peak). */
export const TRAINING_TRANSACTIONS_MAX = 2_000_000;
/** Each split needs at least this many labelled rows and this many frauds to mean anything. */
export const SPLIT_ROWS_MIN = 100;
export const SPLIT_POSITIVES_MIN = 5;

/** Defaults for the fraud GBT; `gbtParams` overrides any of them. */
export const FRAUD_GBT_DEFAULTS: GbtParams = {
  rounds: 400,
  learningRate: 0.08,
  maxDepth: 6,
  maxLeaves: 32,
  minSamplesLeaf: 20,
  subsample: 0.8,
  colsampleByTree: 0.8,
  earlyStoppingRounds: 40,
};

export const FRAUD_LOGISTIC_DEFAULTS: LogisticParams = { l2: 1e-4, iterationsMax: 300 };

const DAY_MS = 86_400_000;
/**
 * The gap between periods: the time a label has to arrive before the next period starts. The
 * simulator's chargebacks take 2 days (median; 94 % within 7) and confirmations 7 days (median).
 */
export const DEFAULT_LABEL_WINDOW_MS = 7 * DAY_MS;

export const DEFAULT_SPLIT: SplitFractions = { train: 0.6, validation: 0.2, test: 0.2 };

export interface TrainFraudOptions {
  /** Transactions in event-time order per card (a topic partition's order); sorted by time here. */
  transactions: readonly Transaction[];
  /** Label events; joined by transaction_id. A transaction's inline `is_fraud` counts too. */
  labels: readonly LabelEvent[];
  /** Seed of the GBT's row and feature sampling. */
  seed: number;
  gbtParams?: GbtParams;
  logisticParams?: LogisticParams;
  costs: FraudCosts;
  /** Shares of the usable time span (gaps excluded), in time order. Default 0.6 / 0.2 / 0.2. */
  split?: SplitFractions;
  /**
   * The gap between periods, so a row's label has had at least this long to arrive by its cutoff.
   * Default 7 days; [1 hour, 60 days].
   */
  labelWindowMs?: number;
  /** A category seen fewer times in the training slice shares the unknown code. Default 5. */
  minCategoryCount?: number;
  /** Progress lines (stage and timing), e.g. `console.error`. */
  onProgress?: (message: string) => void;
}

/** Rows of one split: a trainer's dataset plus what the evaluation and the checks need. */
export interface FraudRows extends Dataset {
  time: Float64Array;
  /** When each row's label became known (event time, ms); the transaction's own for inline ones. */
  labelTimeMs: Float64Array;
  amountUsd: Float64Array;
  transactionIds: string[];
}

export interface FraudSplit {
  train: FraudRows;
  validation: FraudRows;
  test: FraudRows;
}

/**
 * The periods of a run, in event time (ms). Rows: train [fromMs, trainEndMs), validation
 * [validationStartMs, validationEndMs), test [testStartMs, testEndMs). Each gap is one label window.
 */
export interface FraudDataRange {
  fromMs: number;
  trainEndMs: number;
  /** Training rows only carry labels known before this. */
  validationStartMs: number;
  validationEndMs: number;
  /** Validation rows only carry labels known before this. */
  testStartMs: number;
  testEndMs: number;
  /** The latest event seen (transaction or label time); test rows end a label window before it. */
  asOfMs: number;
  labelWindowMs: number;
  /** Transactions given (rows of the splits plus those in gaps, which are only card history). */
  transactions: number;
  rows: { train: number; validation: number; test: number };
  positives: { train: number; validation: number; test: number };
}

/** One trained model with everything a registry version needs. */
export interface TrainedFraudModel<M> {
  model: M;
  schema: FeatureSchema;
  onnx: Uint8Array;
  /** Chosen on the validation slice by expected cost. */
  threshold: ResampledThresholdChoice;
  validation: FraudEvaluation;
  test: FraudEvaluation;
}

export interface TrainedFraudModels {
  gbt: TrainedFraudModel<GbtModel>;
  logistic: TrainedFraudModel<LogisticModel>;
  /** The hand-written baseline, thresholded and judged the same way. */
  rules: {
    threshold: ResampledThresholdChoice;
    validation: FraudEvaluation;
    test: FraudEvaluation;
  };
  data: FraudDataRange;
  costs: Required<FraudCosts>;
  /** The rows each model saw, per split (the GBT's in code encoding, the logistic's one-hot). */
  splits: { gbt: FraudSplit; logistic: FraudSplit };
  /** Seconds per stage. */
  timings: Record<string, number>;
}

type KnownLabel = { timeMs: number; value: number };

/** Every label event per transaction id, ordered by the time it became known; the latest time. */
function labelsById(labels: readonly LabelEvent[]): {
  byId: Map<string, KnownLabel[]>;
  latestMs: number;
} {
  const byId = new Map<string, KnownLabel[]>();
  let latestMs = 0;
  for (const label of labels) {
    const known = label as LabelEvent & { labelTimeMs?: number };
    const timeMs = known.labelTimeMs ?? parseIsoTimestampMs(label.label_time);
    if (!Number.isFinite(timeMs)) {
      throw new ValidationError(
        `labels[${label.transaction_id}].label_time`,
        `"${label.label_time}" is not an ISO-8601 time; expected e.g. 2025-01-01T00:00:00Z`,
      );
    }
    latestMs = Math.max(latestMs, timeMs);
    const list = byId.get(label.transaction_id);
    if (list) list.push({ timeMs, value: label.is_fraud });
    else byId.set(label.transaction_id, [{ timeMs, value: label.is_fraud }]);
  }
  for (const list of byId.values()) list.sort((a, b) => a.timeMs - b.timeMs);
  return { byId, latestMs };
}

/**
 * The label of `tx` as known strictly before `cutoffMs` (the latest label event by then; an
 * inline `is_fraud` is known at the transaction's own time), or null when none had arrived.
 */
function labelKnownBefore(
  tx: Transaction,
  events: KnownLabel[] | undefined,
  cutoffMs: number,
): KnownLabel | null {
  let known: KnownLabel | null =
    tx.is_fraud !== undefined ? { timeMs: tx.timeMs, value: tx.is_fraud } : null;
  for (const e of events ?? []) {
    if (e.timeMs < cutoffMs) known = e;
    else break;
  }
  return known;
}

/** Rows of one split (indices into the time-ordered transactions) and their labels. */
interface SplitIndex {
  rows: number[];
  y: number[];
  labelTimeMs: number[];
}

function planPeriods(
  times: Float64Array,
  labelsLatestMs: number,
  fractions: SplitFractions,
  windowMs: number,
): Omit<FraudDataRange, "transactions" | "rows" | "positives"> {
  const fromMs = times[0] ?? 0;
  const lastMs = times[times.length - 1] ?? 0;
  const asOfMs = Math.max(lastMs, labelsLatestMs);
  const testEndMs = Math.min(lastMs, asOfMs - windowMs) + 1;
  const spanMs = testEndMs - fromMs - 2 * windowMs;
  const days = (ms: number) => (ms / DAY_MS).toFixed(1);
  if (!(spanMs > 3 * 3_600_000)) {
    throw new ValidationError(
      "transactions",
      `leave ${days(Math.max(0, spanMs))} days for the three periods (${days(lastMs - fromMs)} days of transactions, the last ${days(lastMs - testEndMs + 1)} days without settled labels, two ${days(windowMs)}-day label gaps); record more history, or train on simulated history`,
    );
  }
  const trainEndMs = fromMs + Math.round(fractions.train * spanMs);
  const validationStartMs = trainEndMs + windowMs;
  const validationEndMs = validationStartMs + Math.round(fractions.validation * spanMs);
  return {
    fromMs,
    trainEndMs,
    validationStartMs,
    validationEndMs,
    testStartMs: validationEndMs + windowMs,
    testEndMs,
    asOfMs,
    labelWindowMs: windowMs,
  };
}

const SPLIT_NAMES = ["train", "validation", "test"] as const;

function emptyRows(
  featureNames: string[],
  transactions: readonly Transaction[],
  s: SplitIndex,
): FraudRows {
  const n = s.rows.length;
  const rows: FraudRows = {
    featureNames: [...featureNames],
    rows: n,
    cols: featureNames.length,
    x: new Float64Array(n * featureNames.length),
    y: Float64Array.from(s.y),
    time: new Float64Array(n),
    labelTimeMs: Float64Array.from(s.labelTimeMs),
    amountUsd: new Float64Array(n),
    transactionIds: [],
  };
  for (let k = 0; k < n; k++) {
    const tx = transactions[s.rows[k] as number] as Transaction;
    rows.time[k] = tx.timeMs;
    rows.amountUsd[k] = amountUsd(tx);
    rows.transactionIds.push(tx.transaction_id);
  }
  return rows;
}

/**
 * Replays every transaction (a card's unlabelled or gap transactions are still its history) and
 * copies the features of the split rows straight into their datasets: no matrix of all rows.
 */
function replaySplits(
  transactions: readonly Transaction[],
  schema: FeatureSchema,
  index: Record<(typeof SPLIT_NAMES)[number], SplitIndex>,
): FraudSplit {
  const split = {} as FraudSplit;
  // Per transaction: which split its row is in (-1: none) and where.
  const which = new Int8Array(transactions.length).fill(-1);
  const where = new Int32Array(transactions.length);
  SPLIT_NAMES.forEach((name, s) => {
    split[name] = emptyRows(schema.names, transactions, index[name]);
    index[name].rows.forEach((r, k) => {
      which[r] = s;
      where[r] = k;
    });
  });
  const cols = schema.names.length;
  let r = 0;
  for (const { features } of replayFeatures(transactions, schema)) {
    const s = which[r] as number;
    if (s >= 0) {
      split[SPLIT_NAMES[s] as (typeof SPLIT_NAMES)[number]].x.set(
        features,
        (where[r] as number) * cols,
      );
    }
    r++;
  }
  return split;
}

function countPositives(y: Float64Array): number {
  let n = 0;
  for (const v of y) if (v === 1) n++;
  return n;
}

function checkSplit(name: string, rows: FraudRows): void {
  const positives = countPositives(rows.y);
  if (rows.rows < SPLIT_ROWS_MIN || positives < SPLIT_POSITIVES_MIN) {
    throw new ValidationError(
      `transactions (${name} split)`,
      `has ${rows.rows} rows and ${positives} frauds; expected at least ${SPLIT_ROWS_MIN} rows and ${SPLIT_POSITIVES_MIN} frauds (record more history)`,
    );
  }
}

function rulesScores(rows: FraudRows): Float64Array {
  return rulesScoreRows(rows.x, rows.rows, rows.cols);
}

function scored(rows: FraudRows, scores: ArrayLike<number>) {
  return { scores, labels: rows.y, amountsUsd: rows.amountUsd };
}

/**
 * Trains and judges the fraud models. Deterministic: the same inputs and seed give the same
 * models, bytes and figures.
 *
 * @example
 * const history = simulatedHistory({ seed: 1, days: 45, cards: 3000 });
 * const result = trainFraudModels({ ...history, seed: 1, costs: { reviewFeeUsd: 5 } });
 * console.log(result.gbt.test.prAuc, result.logistic.test.prAuc, result.rules.test.prAuc);
 */
export function trainFraudModels(options: TrainFraudOptions): TrainedFraudModels {
  const costs = validateCosts(options.costs);
  const progress = options.onProgress ?? (() => {});
  const timings: Record<string, number> = {};
  let started = performance.now();
  const lap = (stage: string) => {
    const now = performance.now();
    timings[stage] = (now - started) / 1000;
    progress(`${stage}: ${timings[stage].toFixed(2)} s`);
    started = now;
  };
  if (options.transactions.length > TRAINING_TRANSACTIONS_MAX) {
    throw new ValidationError(
      "transactions",
      `${options.transactions.length} transactions; expected at most ${TRAINING_TRANSACTIONS_MAX} (train on a shorter period)`,
    );
  }
  const fractions = options.split ?? DEFAULT_SPLIT;
  const sum = fractions.train + fractions.validation + fractions.test;
  if (
    !(fractions.train > 0 && fractions.validation > 0 && fractions.test > 0) ||
    Math.abs(sum - 1) > 1e-9
  ) {
    throw new ValidationError(
      "split",
      `${JSON.stringify(fractions)}; expected three positive fractions that sum to 1`,
    );
  }
  const windowMs = options.labelWindowMs ?? DEFAULT_LABEL_WINDOW_MS;
  if (!Number.isFinite(windowMs) || windowMs < 3_600_000 || windowMs > 60 * DAY_MS) {
    throw new ValidationError(
      "labelWindowMs",
      `${windowMs} is out of range; expected ms from an hour to 60 days`,
    );
  }
  // A stable sort by event time: per card it keeps the partition's order, which replay needs.
  const sorted = [...options.transactions].sort((a, b) => a.timeMs - b.timeMs);
  const labels = labelsById(options.labels);
  const periods = planPeriods(
    Float64Array.from(sorted, (tx) => tx.timeMs),
    labels.latestMs,
    fractions,
    windowMs,
  );
  // Nothing after the test period matters, not even as history.
  let end = sorted.length;
  while (end > 0 && (sorted[end - 1] as Transaction).timeMs >= periods.testEndMs) end--;
  const transactions = sorted.slice(0, end);
  const index: Record<"train" | "validation" | "test", SplitIndex> = {
    train: { rows: [], y: [], labelTimeMs: [] },
    validation: { rows: [], y: [], labelTimeMs: [] },
    test: { rows: [], y: [], labelTimeMs: [] },
  };
  const trainTransactions: Transaction[] = [];
  transactions.forEach((tx, r) => {
    const t = tx.timeMs;
    const [split, cutoffMs] =
      t < periods.trainEndMs
        ? (["train", periods.validationStartMs] as const)
        : t >= periods.validationStartMs && t < periods.validationEndMs
          ? (["validation", periods.testStartMs] as const)
          : t >= periods.testStartMs
            ? (["test", Number.POSITIVE_INFINITY] as const)
            : ([null, 0] as const);
    if (split === null) return; // in a gap: history only
    if (split === "train") trainTransactions.push(tx);
    const label = labelKnownBefore(tx, labels.byId.get(tx.transaction_id), cutoffMs);
    if (!label) return; // not labelled by the cutoff (or never: unreported fraud)
    index[split].rows.push(r);
    index[split].y.push(label.value);
    index[split].labelTimeMs.push(label.timeMs);
  });
  lap("labels");

  // Category lists from the training period only: the test period's categories are unseen.
  const minCount = options.minCategoryCount ?? 5;
  const splits = {} as { gbt: FraudSplit; logistic: FraudSplit };
  const schemas = {} as { gbt: FeatureSchema; logistic: FeatureSchema };
  for (const [model, encoding] of [
    ["gbt", "code"],
    ["logistic", "onehot"],
  ] as const) {
    const schema = buildFeatureSchema({ transactions: trainTransactions, minCount, encoding });
    schemas[model] = schema;
    splits[model] = replaySplits(transactions, schema, index);
  }
  for (const name of ["train", "validation", "test"] as const) checkSplit(name, splits.gbt[name]);
  lap("replay");

  const gbtSplit = splits.gbt;
  const gbt = trainGbt(
    gbtSplit.train,
    { ...FRAUD_GBT_DEFAULTS, ...options.gbtParams, seed: options.seed },
    gbtSplit.validation,
  );
  lap(`gbt (${gbt.trees.length} trees of ${gbt.roundsRun} rounds)`);
  const logSplit = splits.logistic;
  const logistic = trainLogistic(logSplit.train, {
    ...FRAUD_LOGISTIC_DEFAULTS,
    ...options.logisticParams,
  });
  lap(`logistic (${logistic.iterations} iterations)`);

  const judge = (split: FraudSplit, score: (rows: FraudRows) => ArrayLike<number>) => {
    const validationRows = scored(split.validation, score(split.validation));
    const threshold = chooseFraudThreshold(validationRows, costs);
    return {
      threshold,
      validation: evaluateFraudScores(validationRows, threshold.threshold, costs),
      test: evaluateFraudScores(scored(split.test, score(split.test)), threshold.threshold, costs),
    };
  };
  const gbtJudged = judge(gbtSplit, (rows) => predictBatch(gbt, rows.x, rows.rows));
  const logJudged = judge(logSplit, (rows) => predictBatch(logistic, rows.x, rows.rows));
  const rules = judge(gbtSplit, rulesScores);
  lap("evaluate");

  const data: FraudDataRange = {
    ...periods,
    transactions: options.transactions.length,
    rows: {
      train: gbtSplit.train.rows,
      validation: gbtSplit.validation.rows,
      test: gbtSplit.test.rows,
    },
    positives: {
      train: countPositives(gbtSplit.train.y),
      validation: countPositives(gbtSplit.validation.y),
      test: countPositives(gbtSplit.test.y),
    },
  };
  const metadata = (threshold: number): Record<string, string> => ({
    usecase: "fraud",
    "training.from": new Date(data.fromMs).toISOString(),
    "training.train_end": new Date(data.trainEndMs).toISOString(),
    "training.validation_start": new Date(data.validationStartMs).toISOString(),
    "training.test_start": new Date(data.testStartMs).toISOString(),
    "training.test_end": new Date(data.testEndMs).toISOString(),
    "decision.threshold": String(threshold),
    "feature.version": String(schemas.gbt.version),
  });
  const result: TrainedFraudModels = {
    gbt: {
      model: gbt,
      schema: schemas.gbt,
      onnx: exportOnnx(gbt, { metadata: metadata(gbtJudged.threshold.threshold) }),
      ...gbtJudged,
    },
    logistic: {
      model: logistic,
      schema: schemas.logistic,
      onnx: exportOnnx(logistic, { metadata: metadata(logJudged.threshold.threshold) }),
      ...logJudged,
    },
    rules,
    data,
    costs,
    splits,
    timings,
  };
  lap("export");
  return result;
}

export interface SimulatedHistoryOptions {
  seed: number;
  /** Days of event time, [1, 366]. */
  days: number;
  /** Cardholders, [100, CARDS_MAX]; each makes ~2.6 transactions a day. */
  cards: number;
  /** Share of fraudulent transactions. Default 0.01. */
  fraudRate?: number;
  /** Event time of the start. Default 2025-01-01T00:00:00Z. */
  startMs?: number;
}

/** Recorded (or simulated) history: what {@link trainFraudModels} takes. */
export interface FraudHistory {
  transactions: Transaction[];
  labels: Label[];
  /** The simulation's counts (fraud per scenario, unreported fraud…). */
  stats: SimulationStats;
  /**
   * The truth behind the labels: each fraudulent transaction's scenario by transaction id,
   * reported or not (offline evaluation only: nothing in training or serving reads it).
   */
  fraudScenarios: Map<string, FraudScenario | "original" | "drift">;
}

/**
 * `days` of simulated traffic for training when nothing is recorded yet (a first start): the
 * transactions, the labels that arrived during those days, and those that arrive afterwards (every
 * label the transactions will ever get: the test slice is judged on the eventual truth, while the
 * training and validation slices only see what had arrived by their cutoffs).
 *
 * @example const { transactions, labels } = simulatedHistory({ seed: 1, days: 45, cards: 3000 });
 */
export function simulatedHistory(options: SimulatedHistoryOptions): FraudHistory {
  const { seed, days, cards } = options;
  if (!Number.isFinite(days) || days < 1 || days > 366) {
    throw new ValidationError("days", `${days} is out of range; expected a number in [1, 366]`);
  }
  if (!Number.isInteger(cards) || cards < 100 || cards > CARDS_MAX) {
    throw new ValidationError(
      "cards",
      `${cards} is out of range; expected an integer in [100, ${CARDS_MAX}]`,
    );
  }
  const startMs = options.startMs ?? Date.UTC(2025, 0, 1);
  const endMs = startMs + days * DAY_MS;
  const simulation = new FraudSimulation({ seed, cards, fraudRate: options.fraudRate, startMs });
  const transactions: Transaction[] = [];
  const labels: Label[] = [];
  const fraudScenarios: FraudHistory["fraudScenarios"] = new Map();
  for (;;) {
    const item = simulation.next();
    if (item.kind === "label") {
      labels.push(item.label);
      continue;
    }
    if (item.event.timeMs >= endMs) break;
    if (transactions.length === TRAINING_TRANSACTIONS_MAX) {
      throw new ValidationError(
        "days × cards",
        `${days} days of ${cards} cards exceed ${TRAINING_TRANSACTIONS_MAX} transactions; expected fewer days or cards`,
      );
    }
    transactions.push(item.event);
    if (item.fraud !== null) fraudScenarios.set(item.event.transaction_id, item.fraud);
  }
  // The transaction past the end is dropped, and with it its label: keep only labels of kept ones.
  const kept = new Set(transactions.map((tx) => tx.transaction_id));
  for (const item of simulation.drainLabels()) {
    if (kept.has(item.label.transaction_id)) labels.push(item.label);
  }
  return { transactions, labels, stats: simulation.stats, fraudScenarios };
}

/** Where the training data came from, for the registry. */
export interface TrainingSource {
  /** The log ranges read; empty for simulated history. */
  offsets: TopicOffsetRange[];
  /** For people: `simulated seed=1 days=45 cards=3000`, `embedded log ./data/log`. */
  source: string;
}

/**
 * The registry version of one trained model: its ONNX bytes and schema, parameters, its test and
 * validation figures plus the other scorers' test figures (`baseline.<name>.test.*`), the data
 * range and the threshold with the costs it was chosen by.
 *
 * @example
 * const v = await registry.register(fraudModelVersion(result, "gbt", { offsets: [], source: "simulated" }));
 */
export function fraudModelVersion(
  result: TrainedFraudModels,
  which: "gbt" | "logistic",
  training: TrainingSource,
  usecase = "fraud",
): NewModelVersion {
  const trained = result[which];
  const other = which === "gbt" ? "logistic" : "gbt";
  const { data } = result;
  const threshold = trained.threshold.threshold;
  const params =
    which === "gbt"
      ? { ...result.gbt.model.params, bestIteration: result.gbt.model.bestIteration }
      : { ...result.logistic.model.params, iterations: result.logistic.model.iterations };
  return {
    usecase,
    kind: which,
    onnx: trained.onnx,
    // The drift reference (docs/drift.md) rides with the schema: bins of the validation period's
    // rows (the training period starts with every card new) and the model's scores on them.
    featureSchema: {
      ...trained.schema,
      drift: fraudDriftReference(
        result.splits[which].validation.x,
        result.splits[which].validation.rows,
        trained.schema.names,
        which === "gbt"
          ? predictBatch(
              result.gbt.model,
              result.splits.gbt.validation.x,
              result.splits.gbt.validation.rows,
            )
          : predictBatch(
              result.logistic.model,
              result.splits.logistic.validation.x,
              result.splits.logistic.validation.rows,
            ),
      ),
    } as FeatureSchemaLike,
    params: {
      ...params,
      rows: data.rows,
      positives: data.positives,
      validationStartMs: data.validationStartMs,
      testStartMs: data.testStartMs,
    },
    metrics: {
      ...metricsRecord("test", trained.test),
      ...metricsRecord("validation", trained.validation),
      ...metricsRecord(`baseline.${other}.test`, result[other].test),
      ...metricsRecord("baseline.rules.test", result.rules.test),
      // What the model relies on, on the test period (models/explain/importance.ts).
      ...importanceMetrics(
        trained.onnx,
        trained.schema.names,
        result.splits[which].test.x,
        result.splits[which].test.y,
        result.splits[which].test.rows,
      ),
    },
    trainingData: {
      fromMs: data.fromMs,
      toMs: data.testEndMs - 1,
      offsets: training.offsets,
      source: training.source,
    },
    // "Flag nothing" (+Infinity) is stored as the largest number: JSON has no Infinity.
    threshold: Number.isFinite(threshold) ? threshold : Number.MAX_VALUE,
    costs: { ...result.costs, missedFraud: "amount_usd + chargebackFeeUsd" },
    description: `${which} on ${data.rows.train} training rows (${data.positives.train} frauds) from ${new Date(data.fromMs).toISOString()} to ${new Date(data.trainEndMs).toISOString()}; test PR-AUC ${trained.test.prAuc.toFixed(4)} (rules ${result.rules.test.prAuc.toFixed(4)})`,
  };
}
