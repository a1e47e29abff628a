/**
 * A use case's model lifecycle, wired together: drift detection on the serving path, retraining
 * (leader only) on its triggers, the rollout of each passed candidate, the challenger watcher, and
 * the `retrain`, `promote` and `rollback` commands the API calls. The use case supplies what is
 * its own (examples topic, training defaults, costs, drift reference); the platform supplies the
 * registry, the log, the inference actor and who the leader is. See docs/retraining.md.
 */
import type { InferenceActor } from "../../actors/inference/index.ts";
import {
  type CommandRegistry,
  commands as defaultCommands,
} from "../../runtime/introspection/commands.ts";
import type { MachineRegistry } from "../../runtime/introspection/machines.ts";
import {
  platformEvents as defaultEvents,
  type PlatformEvents,
} from "../../runtime/introspection/platform-events.ts";
import type { Log } from "../../runtime/log/log.ts";
import type { Logger } from "../../runtime/logger.ts";
import { DriftMonitor, type DriftMonitorOptions } from "../drift/monitor.ts";
import { parseDriftReference } from "../drift/reference.ts";
import { setModelImportance, setModelVersion, zeroLifecycleSeries } from "../lifecycle-metrics.ts";
import { MlflowRegistry } from "../registry/mlflow-registry.ts";
import { MlflowRunStore } from "../registry/mlflow-runs.ts";
import type { ModelRegistry, ModelVersionInfo } from "../registry/types.ts";
import { ChallengerWatcher } from "../rollout/challenger-watcher.ts";
import { type CanaryPlan, Rollout, type RolloutPolicy } from "../rollout/rollout.ts";
import type { GbtParams } from "../trainers/gbt.ts";
import { Retrainer, type RetrainerOptions } from "./retrainer.ts";
import { type RunStore, SqliteRunStore } from "./run-store.ts";
import type { ValidationPolicy } from "./validate.ts";

/** One scored batch as the serving path hands it over; arrays are valid during the call only. */
export interface ScoredBatch {
  ids: readonly string[];
  rows: Float32Array;
  count: number;
  cols: number;
  scores: Float32Array;
  challengerScores?: Float32Array;
  challengerVersion?: string;
  /** The batch's latest event time, ms. */
  eventTimeMs: number;
}

/** What the serving path calls; cheap and synchronous. */
export interface LifecycleHooks {
  scored(batch: ScoredBatch): void;
  labelled(id: string, label: 0 | 1, servedScore: number, eventTimeMs: number): void;
  canary(): CanaryPlan | null;
}

export interface RetrainTriggers {
  /** Retrain when a detector enters drift (after `cooldownMs` since the last run). Default true. */
  onDrift: boolean;
  /** Retrain every this many ms of wall time (0: never). Default 0. */
  scheduleMs: number;
  /** Retrain after this many new labelled examples (0: never). Default 0. */
  examples: number;
  /** Minimum wall time between automatic runs. Default 60 s. */
  cooldownMs: number;
}

export interface UseCaseLifecycleOptions {
  usecase: string;
  examplesTopic: string;
  baseParams: GbtParams;
  fnCost: RetrainerOptions["fnCost"];
  fpCost: number;
  /** How candidates' drift references are built (categorical and unwatched features). */
  reference?: { categorical: string[]; exclude: string[] };
  drift?: Omit<DriftMonitorOptions, "usecase" | "onEvent" | "machines" | "events">;
  triggers?: Partial<RetrainTriggers>;
  retraining?: Partial<
    Pick<
      RetrainerOptions,
      | "windowMs"
      | "rowsMax"
      | "rowsMin"
      | "validationFraction"
      | "tuneFraction"
      | "candidates"
      | "seed"
      | "timeoutMs"
    >
  > & { policy?: Partial<ValidationPolicy> };
  rollout?: Partial<RolloutPolicy>;
  machines?: MachineRegistry;
  events?: PlatformEvents;
  commands?: CommandRegistry;
}

/** What the platform gives a use case's lifecycle when it starts. */
export interface LifecycleContext {
  registry: ModelRegistry;
  log: Log;
  inference: InferenceActor;
  dataDir: string;
  /** Whether this instance is the retraining leader right now. */
  isLeader: () => boolean;
  logger: Logger;
  /** The champion watcher's current version (the drift reference follows it). */
  championVersion: () => number | null;
  /** Alias polling interval. Default 1000 ms. */
  pollMs?: number;
}

const encoder = new TextEncoder();

export class UseCaseLifecycle implements LifecycleHooks {
  readonly monitor: DriftMonitor;
  private readonly o: UseCaseLifecycleOptions;
  private readonly triggers: RetrainTriggers;
  private rollout: Rollout | null = null;
  private retrainer: Retrainer | null = null;
  private context: LifecycleContext | null = null;
  private runs: RunStore | null = null;
  private newExamples = 0;
  private lastAutoRunMs = 0;
  private championVersion: number | null = null;
  private timers: ReturnType<typeof setInterval>[] = [];
  private unregister: (() => void)[] = [];
  private watcher: ChallengerWatcher | null = null;
  /** Why the registry is degraded (unreachable), or null; checked on every tick. */
  private registryProblem: string | null = null;
  private checkingRegistry = false;
  readonly driftTopic: string;

  constructor(options: UseCaseLifecycleOptions) {
    this.o = options;
    this.driftTopic = `${options.usecase}.drift`;
    this.triggers = {
      onDrift: true,
      scheduleMs: 0,
      examples: 0,
      cooldownMs: 60_000,
      ...options.triggers,
    };
    this.monitor = new DriftMonitor({
      ...options.drift,
      usecase: options.usecase,
      machines: options.machines,
      events: options.events,
      onEvent: (event) => {
        // Back to stable is good news: only a move away from it is a warning to whoever reads.
        const logger = this.context?.logger;
        if (event.state === "stable") logger?.info("drift detector changed state", { ...event });
        else logger?.warn("drift detector changed state", { ...event });
        // Drift events are a topic too (`<usecase>.drift`), for whoever audits or replays them.
        this.context?.log
          .append(this.driftTopic, 0, [
            {
              key: encoder.encode(`${event.detector}/${event.feature}`),
              value: encoder.encode(JSON.stringify(event)),
              timestampMs: event.eventTimeMs,
            },
          ])
          .catch((error: unknown) =>
            this.context?.logger.warn("drift event not written", { error: String(error) }),
          );
        if (event.state === "drift" && this.triggers.onDrift)
          this.autoRetrain(`drift:${event.detector}/${event.feature}`);
      },
    });
  }

  // ---- serving hooks -------------------------------------------------------------------------

  scored(batch: ScoredBatch): void {
    this.monitor.observeRows(batch.rows, batch.count, batch.cols, batch.scores, batch.eventTimeMs);
    this.rollout?.observeScored(
      batch.ids,
      batch.scores,
      batch.challengerScores,
      batch.challengerVersion,
    );
  }

  labelled(id: string, label: 0 | 1, servedScore: number, eventTimeMs: number): void {
    this.monitor.observeLabelled(servedScore, label, eventTimeMs);
    this.rollout?.observeLabel(id, label);
    if (this.triggers.examples > 0 && ++this.newExamples >= this.triggers.examples) {
      this.newExamples = 0;
      this.autoRetrain("examples");
    }
  }

  canary(): CanaryPlan | null {
    return this.rollout?.canary() ?? null;
  }

  // ---- control -------------------------------------------------------------------------------

  get retraining(): Retrainer | null {
    return this.retrainer;
  }

  get rolloutController(): Rollout | null {
    return this.rollout;
  }

  /** Starts retraining, rollout, the challenger watcher and the commands. */
  async start(context: LifecycleContext): Promise<void> {
    const o = this.o;
    zeroLifecycleSeries(o.usecase, ["psi", "js", "page_hinkley"]);
    await context.log.ensureTopic({ name: this.driftTopic, partitions: 1 });
    this.context = context;
    this.runs =
      context.registry instanceof MlflowRegistry
        ? new MlflowRunStore(context.registry.url)
        : new SqliteRunStore(context.dataDir);
    this.rollout = new Rollout({
      usecase: o.usecase,
      registry: context.registry,
      policy: o.rollout,
      machines: o.machines,
      events: o.events,
      logger: context.logger,
    });
    const rollout = this.rollout;
    this.retrainer = new Retrainer({
      ...o.retraining,
      usecase: o.usecase,
      log: context.log,
      examplesTopic: o.examplesTopic,
      registry: context.registry,
      runs: this.runs,
      isLeader: context.isLeader,
      baseParams: o.baseParams,
      fnCost: o.fnCost,
      fpCost: o.fpCost,
      reference: o.reference,
      policy: o.retraining?.policy,
      machines: o.machines,
      events: o.events,
      onCandidate: async (version: ModelVersionInfo) => {
        await rollout.start(version.version);
        await this.watcher?.poll();
      },
    });
    this.watcher = new ChallengerWatcher({
      usecase: o.usecase,
      registry: context.registry,
      inference: context.inference,
      pollMs: context.pollMs ?? 1000,
      logger: context.logger,
    });
    await this.watcher.start();
    const commands = o.commands ?? defaultCommands;
    const retrainer = this.retrainer;
    this.unregister.push(
      commands.register(o.usecase, "retrain", async (args) => {
        // Refused at once on a follower, waited for or not: "started" must mean a run started.
        const notLeader = retrainer.notLeader();
        if (notLeader) throw notLeader;
        const shuffle = args.shuffleLabels === true;
        const run = retrainer.retrain(String(args.reason ?? "api"), { shuffleLabels: shuffle });
        if (args.wait === true) return { ...(await run) };
        run.catch(() => {});
        return { started: true, state: retrainer.state };
      }),
      commands.register(o.usecase, "promote", async (args) => {
        const version = args.version === undefined ? undefined : Number(args.version);
        const result = await rollout.promote(version, String(args.reason ?? "promoted by the API"));
        await this.watcher?.poll();
        return result;
      }),
      commands.register(o.usecase, "rollback", async (args) => {
        const version = args.version === undefined ? undefined : Number(args.version);
        const result = await rollout.rollback(
          String(args.reason ?? "rolled back by the API"),
          version,
        );
        await this.watcher?.poll();
        return result;
      }),
    );
    await this.followChampion();
    const tick = setInterval(() => {
      void this.checkRegistry();
      void this.followChampion();
      rollout.checkServing(context.inference.models.challenger);
      // Drift that persists (the last run was rejected or failed) is retried after the cooldown.
      if (this.triggers.onDrift && this.monitor.state === "drift")
        this.autoRetrain("drift:persisting");
      if (
        this.triggers.scheduleMs > 0 &&
        Date.now() - this.lastAutoRunMs >= this.triggers.scheduleMs
      ) {
        this.autoRetrain("schedule");
      }
    }, context.pollMs ?? 1000);
    tick.unref?.();
    this.timers.push(tick);
  }

  /**
   * Degraded, not down: while the registry does not answer, the champion in hand keeps serving and
   * no retraining can register; this says why (null when the registry answers).
   */
  problem(): string | null {
    return this.registryProblem;
  }

  private async checkRegistry(): Promise<void> {
    const context = this.context;
    if (!context || this.checkingRegistry) return;
    this.checkingRegistry = true;
    const bus = this.o.events ?? defaultEvents;
    try {
      await context.registry.aliases(this.o.usecase);
      if (this.registryProblem !== null) {
        this.registryProblem = null;
        context.logger.info("the model registry answers again", { usecase: this.o.usecase });
        bus.publish("alert", { what: "registry reachable again", resolved: true }, this.o.usecase);
      }
    } catch (error) {
      if (this.registryProblem === null) {
        this.registryProblem = `${this.o.usecase}: model registry unreachable (the champion in hand keeps serving): ${(error as Error).message}`;
        context.logger.warn("the model registry does not answer; serving the champion in hand", {
          usecase: this.o.usecase,
          error: String(error),
        });
        bus.publish(
          "alert",
          { what: "registry unreachable", detail: this.registryProblem },
          this.o.usecase,
        );
      }
    } finally {
      this.checkingRegistry = false;
    }
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const off of this.unregister) off();
    this.unregister = [];
    await this.watcher?.stop();
    await this.rollout?.settled();
    this.rollout?.stop();
    this.retrainer?.stop();
    this.monitor.stop();
    await this.runs?.close();
  }

  /** A new champion: the drift reference follows it and every detector starts again. */
  private async followChampion(): Promise<void> {
    const context = this.context;
    if (!context) return;
    const version = context.championVersion();
    if (version === null || version === this.championVersion) return;
    this.championVersion = version;
    setModelVersion(this.o.usecase, "champion", version);
    try {
      const info = await context.registry.get(this.o.usecase, version);
      this.monitor.setReference(parseDriftReference(info?.featureSchema.drift));
      setModelImportance(this.o.usecase, "champion", info?.metrics ?? null);
    } catch (error) {
      context.logger.warn("drift reference could not be read; data drift is not judged", { error });
      this.monitor.setReference(null);
    }
    this.monitor.reset();
  }

  private autoRetrain(trigger: string): void {
    const retrainer = this.retrainer;
    const context = this.context;
    if (!retrainer || !context || retrainer.busy || !context.isLeader()) return;
    const state = this.rollout?.state;
    if (state === "shadow" || state === "canary") return; // one candidate at a time
    if (Date.now() - this.lastAutoRunMs < this.triggers.cooldownMs) return;
    this.lastAutoRunMs = Date.now();
    context.logger.info("retraining", { usecase: this.o.usecase, trigger });
    retrainer.retrain(trigger).then(
      (run) =>
        context.logger.info("retraining finished", {
          usecase: this.o.usecase,
          outcome: run.outcome,
          version: run.version,
          reasons: run.reasons,
        }),
      (error: unknown) => context.logger.warn("retraining did not start", { error }),
    );
  }
}
