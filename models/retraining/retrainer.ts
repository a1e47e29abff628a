/**
 * A use case's retraining loop (on the leader instance only): builds the training set from the
 * examples topic over an event-time window, runs a small hyperparameter search in a worker thread,
 * validates the best candidate against the champion on the most recent slice, records the run
 * (pass or fail) with its parameters, metrics and lineage, and on a pass registers the candidate
 * and hands it to the rollout. See docs/retraining.md.
 */
import { CoelhoError } from "../../runtime/errors.ts";
import {
  machines as defaultMachines,
  type MachineRegistry,
} from "../../runtime/introspection/machines.ts";
import {
  platformEvents as defaultEvents,
  type PlatformEvents,
} from "../../runtime/introspection/platform-events.ts";
import type { Log } from "../../runtime/log/log.ts";
import { trainingDurationSeconds, trainingRuns } from "../lifecycle-metrics.ts";
import type { ModelRegistry, ModelVersionInfo } from "../registry/types.ts";
import type { GbtParams } from "../trainers/gbt.ts";
import { chooseThresholdResampled } from "../trainers/threshold.ts";
import { readExamples } from "./examples.ts";
import { RetrainingLifecycle } from "./machine.ts";
import type { RunStore, TrainingRun } from "./run-store.ts";
import { searchCandidates } from "./search.ts";
import { trainInWorker } from "./train-in-worker.ts";
import { DEFAULT_VALIDATION, type ValidationPolicy, validateCandidate } from "./validate.ts";

export interface RetrainerOptions {
  usecase: string;
  log: Log;
  examplesTopic: string;
  registry: ModelRegistry;
  runs: RunStore;
  /** Whether this instance may retrain (the leader; always true in embedded mode). */
  isLeader: () => boolean;
  /** Event time of examples used, back from the newest. Default 30 days. */
  windowMs?: number;
  /** Examples used at most (the most recent). Default 300 000. */
  rowsMax?: number;
  /** Examples needed to train at all. Default 2000. */
  rowsMin?: number;
  /** Share of rows (the newest) that validate candidate vs champion. Default 0.2. */
  validationFraction?: number;
  /** Share of the remaining rows (the newest of them) that tune and early-stop. Default 0.2. */
  tuneFraction?: number;
  /** Parameter sets tried. Default 4. */
  candidates?: number;
  seed?: number;
  baseParams: GbtParams;
  policy?: Partial<ValidationPolicy>;
  /** A run taking longer is stopped and recorded as failed. Default 10 minutes. */
  timeoutMs?: number;
  /** Threshold costs: missing a positive costs `fnCost(row)`, flagging one costs `fpCost`. */
  fnCost: (x: Float32Array, row: number, cols: number) => number;
  fpCost: number;
  /**
   * The drift reference of a candidate (built in the worker from its training rows and its scores
   * on the tuning rows): which features are categorical, which are not watched.
   */
  reference?: { categorical: string[]; exclude: string[] };
  /** Called with each passed, registered candidate (the rollout starts it). */
  onCandidate?: (version: ModelVersionInfo) => Promise<void>;
  machines?: MachineRegistry;
  events?: PlatformEvents;
}

export interface RetrainOptions {
  /** Shuffles the training labels: a deliberately bad candidate (tests, drills). */
  shuffleLabels?: boolean;
}

let runCounter = 0;

export class Retrainer {
  private readonly o: RetrainerOptions;
  private readonly lifecycle = new RetrainingLifecycle();
  private readonly unregister: () => void;
  private readonly bus: PlatformEvents;
  private running: Promise<TrainingRun> | null = null;
  private progress = { stage: "idle", done: 0, total: 0 };
  private last: TrainingRun | null = null;

  constructor(options: RetrainerOptions) {
    this.o = options;
    this.bus = options.events ?? defaultEvents;
    this.unregister = (options.machines ?? defaultMachines).register({
      kind: "retraining",
      name: options.usecase,
      usecase: options.usecase,
      snapshot: () => ({
        state: this.lifecycle.state,
        context: {
          ...this.progress,
          lastRun: this.last?.id ?? null,
          lastOutcome: this.last?.outcome ?? null,
          lastVersion: this.last?.version ?? null,
        },
      }),
    });
  }

  get state(): string {
    return this.lifecycle.state;
  }

  get busy(): boolean {
    return this.running !== null;
  }

  /** The latest run, if any. */
  get lastRun(): TrainingRun | null {
    return this.last;
  }

  /**
   * Starts a run (unless one is running: that one's promise is returned). Rejects only when this
   * instance is not the leader; a failed run resolves with outcome "failed".
   */
  retrain(trigger: string, options: RetrainOptions = {}): Promise<TrainingRun> {
    const notLeader = this.notLeader();
    if (notLeader) return Promise.reject(notLeader);
    this.running ??= this.run(trigger, options).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Why this instance may not retrain now, or null when it is the leader. */
  notLeader(): CoelhoError | null {
    if (this.o.isLeader()) return null;
    return new CoelhoError(
      "not_leader",
      `${this.o.usecase}: this instance is not the retraining leader (the owner of partition 0 of the input retrains)`,
    );
  }

  stop(): void {
    this.unregister();
    this.lifecycle.stop();
  }

  private report(stage: string, done = 0, total = 0, extra: Record<string, unknown> = {}): void {
    this.progress = { stage, done, total };
    this.bus.publish("retraining", { stage, done, total, ...extra }, this.o.usecase);
  }

  private async run(trigger: string, options: RetrainOptions): Promise<TrainingRun> {
    const o = this.o;
    const startedAtMs = Date.now();
    const id = `${o.usecase}-${startedAtMs}-${++runCounter}`;
    const run: TrainingRun = {
      id,
      usecase: o.usecase,
      trigger,
      startedAtMs,
      finishedAtMs: 0,
      outcome: "failed",
      reasons: [],
      params: {},
      metrics: {},
      lineage: { offsets: [], fromMs: 0, toMs: 0, rows: 0 },
      version: null,
    };
    const timeoutMs = o.timeoutMs ?? 600_000;
    this.lifecycle.send({ type: "START" });
    this.report("collecting", 0, 0, { run: id, trigger });
    try {
      const champion = await o.registry.alias(o.usecase, "champion");
      if (!champion)
        throw new CoelhoError("no_champion", `${o.usecase}: no champion to retrain from`);
      const names = champion.featureSchema.names;
      const cols = names.length;
      const all = await readExamples({
        log: o.log,
        topic: o.examplesTopic,
        cols,
        rowsMax: o.rowsMax ?? 300_000,
      });
      const fromMs = all.toMs - (o.windowMs ?? 30 * 86_400_000);
      let first = 0;
      while (first < all.rows && (all.time[first] as number) < fromMs) first++;
      const rows = all.rows - first;
      run.lineage = { offsets: all.offsets, fromMs: all.time[first] ?? 0, toMs: all.toMs, rows };
      if (rows < (o.rowsMin ?? 2000)) {
        throw new CoelhoError(
          "too_few_examples",
          `${o.usecase}: ${rows} labelled examples in the window; at least ${o.rowsMin ?? 2000} are needed`,
        );
      }
      const x = all.x.subarray(first * cols);
      const y = all.y.slice(first);
      const validationRows = Math.floor(rows * (o.validationFraction ?? 0.2));
      const fitRows = rows - validationRows;
      const tuneRows = Math.floor(fitRows * (o.tuneFraction ?? 0.2));
      const trainRows = fitRows - tuneRows;
      this.lifecycle.send({ type: "COLLECTED" });

      const trainY = y.slice(0, fitRows);
      if (options.shuffleLabels) shuffle(trainY, o.seed ?? 1);
      const candidates = searchCandidates(o.baseParams, o.candidates ?? 4, o.seed ?? 1);
      this.report("training", 0, candidates.length, { run: id, rows });
      const trained = await trainInWorker(
        {
          names: [...names],
          cols,
          x: x.slice(0, fitRows * cols),
          y: trainY,
          trainRows,
          tuneRows,
          candidates,
          seed: o.seed ?? 1,
          metadata: { usecase: o.usecase, "training.run": id },
          reference: o.reference,
        },
        {
          timeoutMs: Math.max(1000, timeoutMs - (Date.now() - startedAtMs)),
          onProgress: (p) =>
            this.report("training", p.done, p.total, { run: id, tunePrAuc: p.tunePrAuc }),
        },
      );
      run.params = {
        ...trained.params,
        search: trained.results.map((r) => ({
          ...r.params,
          tunePrAuc: r.tunePrAuc,
          trees: r.trees,
        })),
        rows: { train: trainRows, tune: tuneRows, validation: validationRows },
        shuffledLabels: options.shuffleLabels === true,
      };
      run.metrics["tune.pr_auc"] = trained.tunePrAuc;
      Object.assign(run.metrics, trained.importance);
      this.lifecycle.send({ type: "TRAINED" });

      this.report("validating", 0, 0, { run: id });
      const slice = {
        names,
        x: x.slice(fitRows * cols, rows * cols),
        y: y.slice(fitRows),
        rows: validationRows,
      };
      const championModel = await o.registry.get(o.usecase, champion.version);
      const policy = { ...DEFAULT_VALIDATION, ...o.policy };
      const result = await validateCandidate(
        trained.onnx,
        championModel?.onnx ?? null,
        slice,
        policy,
      );
      run.metrics = { ...run.metrics, ...result.metrics };
      run.metrics["champion.version"] = champion.version;
      if (!result.passed) {
        run.outcome = "rejected";
        run.reasons = result.reasons;
        this.lifecycle.send({ type: "REJECTED" });
        return await this.finish(run);
      }
      this.lifecycle.send({ type: "VALIDATED" });

      this.report("registering", 0, 0, { run: id });
      const fnCost = Float64Array.from({ length: validationRows }, (_, i) =>
        o.fnCost(slice.x, i, cols),
      );
      const threshold = chooseThresholdResampled({
        scores: result.candidateScores,
        labels: slice.y,
        fnCost,
        fpCost: o.fpCost,
        tpCost: o.fpCost,
      });
      const reference = trained.reference;
      const version = await o.registry.register({
        usecase: o.usecase,
        kind: "gbt",
        onnx: trained.onnx,
        featureSchema: { ...champion.featureSchema, ...(reference ? { drift: reference } : {}) },
        params: run.params,
        metrics: finiteOnly(run.metrics),
        trainingData: {
          fromMs: run.lineage.fromMs,
          toMs: Math.max(run.lineage.fromMs, run.lineage.toMs),
          offsets: run.lineage.offsets,
          source: `retraining run ${id} (${trigger}) on ${o.examplesTopic}`,
        },
        threshold: Number.isFinite(threshold.threshold) ? threshold.threshold : Number.MAX_VALUE,
        costs: { ...champion.costs },
        description: `retrained (${trigger}) on ${rows} examples; PR-AUC ${result.metrics["candidate.pr_auc"]?.toFixed(4)} vs champion v${champion.version} ${result.metrics["champion.pr_auc"]?.toFixed(4)}`,
      });
      run.version = version.version;
      run.outcome = "promoted";
      this.lifecycle.send({ type: "REGISTERED" });
      const finished = await this.finish(run);
      await o.onCandidate?.(version);
      return finished;
    } catch (error) {
      run.outcome = "failed";
      run.reasons = [(error as Error).message];
      if (this.lifecycle.state !== "idle") this.lifecycle.send({ type: "FAIL" });
      return await this.finish(run);
    }
  }

  private async finish(run: TrainingRun): Promise<TrainingRun> {
    run.finishedAtMs = Date.now();
    trainingRuns.inc({ usecase: run.usecase, outcome: run.outcome });
    trainingDurationSeconds.observe(
      { usecase: run.usecase },
      (run.finishedAtMs - run.startedAtMs) / 1000,
    );
    try {
      await this.o.runs.record(run);
    } catch (error) {
      run.reasons.push(`the run could not be recorded: ${(error as Error).message}`);
    }
    this.last = run;
    this.report("done", 0, 0, {
      run: run.id,
      outcome: run.outcome,
      version: run.version,
      reasons: run.reasons,
    });
    return run;
  }
}

function finiteOnly(metrics: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).filter(([, v]) => Number.isFinite(v)));
}

/** Fisher-Yates with a seeded generator. */
function shuffle(values: Float64Array, seed: number): void {
  let state = seed >>> 0 || 1;
  for (let i = values.length - 1; i > 0; i--) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const j = state % (i + 1);
    const t = values[i] as number;
    values[i] = values[j] as number;
    values[j] = t;
  }
}
