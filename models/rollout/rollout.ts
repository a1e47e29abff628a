/**
 * A use case's rollout controller: drives the {@link RolloutLifecycle} from what it observes.
 *
 * - `start(version)` points the `challenger` alias at the candidate: every instance's challenger
 *   watcher loads it as the inference actor's shadow model, so it is scored beside the champion.
 * - In shadow, each labelled event scored by both models feeds a {@link ShadowComparison}; once
 *   `shadowLabelsMin` labels (with `positivesMin` positives) are in, a paired bootstrap gives the
 *   interval of the PR-AUC difference (paired-bootstrap.ts). The challenger goes to canary when
 *   the interval says it is not worse than the champion by more than `tolerance`, and is rolled
 *   back when it says it is; while the interval straddles the line, the step waits for more
 *   labels (every half minimum more), up to `labelsMaxFactor` times the minimum, where the point
 *   estimates decide.
 * - In canary, `canaryShare` of the entities (by key hash) get the challenger's decisions; after a
 *   fresh window of labels the same rule promotes it (the `champion` alias moves to it) or rolls it
 *   back (the `challenger` alias is deleted; the champion never changed).
 * - A challenger the inference actor dropped (it failed) is rolled back.
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
import type { Logger } from "../../runtime/logger.ts";
import {
  type RolloutStateName,
  setModelImportance,
  setModelVersion,
  setRolloutState,
} from "../lifecycle-metrics.ts";
import type { ModelRegistry } from "../registry/types.ts";
import { type ComparisonResult, ShadowComparison } from "./comparison.ts";
import { RolloutLifecycle } from "./machine.ts";
import type { DifferenceInterval } from "./paired-bootstrap.ts";

export interface RolloutPolicy {
  /** Labelled events compared in shadow before deciding. Default 2000. */
  shadowLabelsMin: number;
  /** Labelled events compared in canary before deciding. Default 2000. */
  canaryLabelsMin: number;
  /** Positives the window needs before deciding. Default 10. */
  positivesMin: number;
  /**
   * The challenger may be this much below the champion's PR-AUC and still pass (a
   * non-inferiority margin). Default 0.01.
   */
  tolerance: number;
  /**
   * A step whose interval straddles the margin waits for up to this many times its minimum
   * labels; then the point estimates decide. Default 4.
   */
  labelsMaxFactor: number;
  /** Share of entities (by key hash) that get the challenger's decisions in canary. Default 0.1. */
  canaryShare: number;
}

export const DEFAULT_ROLLOUT: RolloutPolicy = {
  shadowLabelsMin: 2000,
  canaryLabelsMin: 2000,
  positivesMin: 10,
  tolerance: 0.01,
  labelsMaxFactor: 4,
  canaryShare: 0.1,
};

/** What the serving path asks once per batch while a canary runs. */
export interface CanaryPlan {
  version: number;
  threshold: number;
  includes(key: string): boolean;
}

export interface RolloutOptions {
  usecase: string;
  registry: ModelRegistry;
  policy?: Partial<RolloutPolicy>;
  machines?: MachineRegistry;
  events?: PlatformEvents;
  /** Where each step (shadow, canary, promoted, rolled back) is logged, with its reason. */
  logger?: Logger;
}

/** FNV-1a of a key, as a number in [0, 1): the same entity always lands on the same side. */
export function keyShare(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) / 4294967296;
}

export class Rollout {
  readonly policy: RolloutPolicy;
  private readonly o: RolloutOptions;
  private readonly lifecycle: RolloutLifecycle;
  private readonly comparison = new ShadowComparison();
  private readonly bus: PlatformEvents;
  private readonly unregister: () => void;
  private deciding: Promise<void> = Promise.resolve();
  private plan: CanaryPlan | null = null;
  private lastResult: (ComparisonResult & { interval: DifferenceInterval }) | null = null;
  /** Labelled events the window needs before the next decision of the current step. */
  private decisionAt = 0;
  /** The champion before the latest promotion (what a manual rollback returns to). */
  private previousChampion: number | null = null;
  /** Whether the inference actor has been seen serving the challenger (for error detection). */
  private challengerSeen = false;

  constructor(options: RolloutOptions) {
    this.o = options;
    this.policy = { ...DEFAULT_ROLLOUT, ...options.policy };
    this.bus = options.events ?? defaultEvents;
    this.lifecycle = new RolloutLifecycle((state) => setRolloutState(options.usecase, state));
    this.unregister = (options.machines ?? defaultMachines).register({
      kind: "rollout",
      name: options.usecase,
      usecase: options.usecase,
      snapshot: () => ({
        state: this.lifecycle.state,
        context: {
          version: this.lifecycle.context.version,
          reason: this.lifecycle.context.reason,
          labelled: this.comparison.count,
          ...(this.lastResult ? { comparison: { ...this.lastResult } } : {}),
        },
      }),
    });
  }

  get state(): RolloutStateName {
    return this.lifecycle.state;
  }

  get version(): number | null {
    return this.lifecycle.context.version;
  }

  get reason(): string {
    return this.lifecycle.context.reason;
  }

  /** Starts rolling out `version`: it becomes the challenger, in shadow. */
  async start(version: number): Promise<void> {
    await this.o.registry.setAlias(this.o.usecase, "challenger", version);
    setModelVersion(this.o.usecase, "challenger", version);
    const candidate = await this.o.registry.alias(this.o.usecase, "challenger");
    setModelImportance(this.o.usecase, "challenger", candidate?.metrics ?? null);
    this.comparison.clear();
    this.lastResult = null;
    this.plan = null;
    this.challengerSeen = false;
    this.decisionAt = this.policy.shadowLabelsMin;
    this.lifecycle.send({ type: "START", version });
    this.publish("shadow", { version });
  }

  /** The canary's plan (null unless in canary): which keys get the challenger's decisions. */
  canary(): CanaryPlan | null {
    return this.plan;
  }

  /**
   * A scored batch: the transaction ids with both models' scores (when a challenger scored it).
   * Synchronous and cheap: called on the serving path.
   */
  observeScored(
    ids: readonly string[],
    championScores: ArrayLike<number>,
    challengerScores: ArrayLike<number> | undefined,
    challengerVersion: string | undefined,
  ): void {
    const active = this.lifecycle.state === "shadow" || this.lifecycle.state === "canary";
    if (!active || !challengerScores || Number(challengerVersion) !== this.version) return;
    this.challengerSeen = true;
    for (let i = 0; i < ids.length; i++) {
      this.comparison.scored(
        ids[i] as string,
        championScores[i] as number,
        challengerScores[i] as number,
      );
    }
  }

  /** A label of a scored event; may decide the current step. */
  observeLabel(id: string, label: 0 | 1): void {
    const state = this.lifecycle.state;
    if (state !== "shadow" && state !== "canary") return;
    this.comparison.labelled(id, label);
    if (
      this.comparison.count >= this.decisionAt &&
      this.comparison.positives >= this.policy.positivesMin
    ) {
      this.decisionAt = Number.POSITIVE_INFINITY; // one decision at a time; it sets the next
      this.enqueue(() => this.decide(state));
    }
  }

  /**
   * What the inference actor serves as challenger now; a challenger it dropped after serving it
   * (its batches failed) is rolled back.
   */
  checkServing(challengerVersion: string | null): void {
    const state = this.lifecycle.state;
    if (state !== "shadow" && state !== "canary") return;
    if (challengerVersion !== null && Number(challengerVersion) === this.version) {
      this.challengerSeen = true;
    } else if (this.challengerSeen && challengerVersion === null) {
      this.enqueue(() =>
        this.rollback("the challenger failed in the inference actor and was dropped"),
      );
    }
  }

  /** Promotes the challenger now (or `version`, outside a rollout). */
  async promote(version?: number, reason = "promoted by the API"): Promise<{ version: number }> {
    const state = this.lifecycle.state;
    const target = version ?? (state === "shadow" || state === "canary" ? this.version : null);
    if (target === null || target === undefined) {
      throw new CoelhoError(
        "nothing_to_promote",
        `${this.o.usecase}: no challenger is being rolled out; give a version to promote`,
      );
    }
    await this.moveChampion(target, reason);
    if (!this.lifecycle.send({ type: "PROMOTE", reason })) {
      // Outside a rollout: a direct promotion; the machine stays where it is.
    }
    return { version: target };
  }

  /**
   * Rolls back: during a rollout the challenger is dropped (the champion never changed); outside
   * one, the champion returns to the version before the latest promotion (or `version`).
   */
  async rollback(
    reason = "rolled back by the API",
    version?: number,
  ): Promise<{ version: number | null }> {
    const state = this.lifecycle.state;
    if (state === "shadow" || state === "canary") {
      const dropped = this.version;
      await this.dropChallengerAlias();
      this.plan = null;
      this.lifecycle.send({ type: "ROLLBACK", reason });
      this.publish("rolled_back", { version: dropped, reason, comparison: this.lastResult });
      return { version: dropped };
    }
    const target = version ?? this.previousChampion;
    if (target === null) {
      throw new CoelhoError(
        "nothing_to_roll_back",
        `${this.o.usecase}: no rollout is running and no earlier champion is known; give a version`,
      );
    }
    await this.moveChampion(target, reason);
    this.publish("rolled_back", { version: target, reason });
    return { version: target };
  }

  /** Waits for decisions in progress (tests, shutdown). */
  settled(): Promise<void> {
    return this.deciding;
  }

  stop(): void {
    this.unregister();
    this.lifecycle.stop();
  }

  private enqueue(step: () => Promise<unknown>): void {
    this.deciding = this.deciding.then(step).then(
      () => {},
      (error: unknown) => {
        this.bus.publish(
          "alert",
          { what: "rollout step failed", error: String(error) },
          this.o.usecase,
        );
      },
    );
  }

  private async decide(state: "shadow" | "canary"): Promise<void> {
    if (this.lifecycle.state !== state) return; // decided meanwhile
    const result = this.comparison.result();
    const min = state === "shadow" ? this.policy.shadowLabelsMin : this.policy.canaryLabelsMin;
    // The next look, unless this one decides (also after a failure here: the step goes on).
    this.decisionAt = result.labelled + Math.ceil(min / 2);
    const interval = await this.comparison.differenceInterval();
    if (this.lifecycle.state !== state) return; // decided meanwhile (the API)
    this.lastResult = { ...result, interval };
    const verdict = rolloutVerdict(
      result,
      interval,
      this.policy.tolerance,
      result.labelled >= min * this.policy.labelsMaxFactor,
    );
    const summary = `${describeComparison(result, interval)} in ${state}`;
    if (verdict === "wait") return; // the interval straddles the margin: more labels narrow it
    if (verdict === "fail") {
      await this.rollback(`worse than the champion: ${summary}`);
      return;
    }
    if (state === "shadow") {
      const version = this.version as number;
      const info = await this.o.registry.get(this.o.usecase, version);
      const threshold = info?.threshold ?? 0.5;
      const share = this.policy.canaryShare;
      this.plan = { version, threshold, includes: (key) => keyShare(key) < share };
      this.comparison.resetWindow();
      this.decisionAt = this.policy.canaryLabelsMin;
      this.lifecycle.send({ type: "SHADOW_PASSED", reason: summary });
      this.publish("canary", { version, share, comparison: this.lastResult });
      return;
    }
    await this.moveChampion(this.version as number, summary);
    this.lifecycle.send({ type: "CANARY_PASSED", reason: summary });
  }

  private async moveChampion(version: number, reason: string): Promise<void> {
    const current = await this.o.registry.alias(this.o.usecase, "champion");
    await this.o.registry.setAlias(this.o.usecase, "champion", version);
    if (current && current.version !== version) this.previousChampion = current.version;
    const challenger = await this.o.registry.alias(this.o.usecase, "challenger");
    if (challenger?.version === version) await this.dropChallengerAlias();
    setModelVersion(this.o.usecase, "champion", version);
    this.plan = null;
    this.publish("promoted", { version, previous: current?.version ?? null, reason });
  }

  /** Deletes the challenger alias, and the series that showed what it pointed at. */
  private async dropChallengerAlias(): Promise<void> {
    await this.o.registry.deleteAlias(this.o.usecase, "challenger");
    setModelVersion(this.o.usecase, "challenger", null);
    setModelImportance(this.o.usecase, "challenger", null);
  }

  private publish(action: string, data: Record<string, unknown>): void {
    this.bus.publish("model", { action, ...data }, this.o.usecase);
    // For whoever reads the logs to learn why a challenger went on or was dropped (a decided
    // promotion's reason already says it).
    const { comparison, ...fields } = data;
    const shown = comparison as (ComparisonResult & { interval: DifferenceInterval }) | null;
    this.o.logger?.info(`rollout: ${action}`, {
      usecase: this.o.usecase,
      ...fields,
      ...(shown?.interval ? { comparison: describeComparison(shown, shown.interval) } : {}),
    });
  }
}

/**
 * A step's verdict: "pass" when the interval's lower bound is above −tolerance (not worse beyond
 * the margin), "fail" when its upper bound is below it (worse beyond it), else "wait" for more
 * labels, unless `atBound`, where the point estimates decide.
 */
export function rolloutVerdict(
  result: ComparisonResult,
  interval: DifferenceInterval,
  tolerance: number,
  atBound: boolean,
): "pass" | "fail" | "wait" {
  if (interval.low >= -tolerance) return "pass";
  if (interval.high < -tolerance) return "fail";
  if (!atBound) return "wait";
  return result.challengerPrAuc >= result.championPrAuc - tolerance ? "pass" : "fail";
}

/** For people: both PR-AUCs, their difference with its interval, and the window. */
function describeComparison(result: ComparisonResult, interval: DifferenceInterval): string {
  const signed = (v: number) => `${v >= 0 ? "+" : "−"}${Math.abs(v).toFixed(4)}`;
  return `challenger PR-AUC ${result.challengerPrAuc.toFixed(4)} vs champion ${result.championPrAuc.toFixed(4)}, difference ${signed(interval.difference)} (${Math.round(interval.level * 100)} % interval ${signed(interval.low)} to ${signed(interval.high)}) on ${result.labelled} labelled events (${result.positives} positives)`;
}
