/**
 * A use case's drift detectors and their machines: data drift per feature (PSI / Jensen-Shannon
 * windows against the champion's training reference), prediction drift (PSI of the scores) and
 * performance drift (Page-Hinkley on the labelled loss). Each detector's state is published to the
 * machine registry, to the metrics, and, on each change of state, as a drift event.
 *
 * The serving path calls {@link DriftMonitor.observeRows} once per scored batch and
 * {@link DriftMonitor.observeLabelled} per labelled example: counting into bins, no allocation.
 */
import {
  machines as defaultMachines,
  type MachineRegistry,
} from "../../runtime/introspection/machines.ts";
import {
  platformEvents as defaultEvents,
  type PlatformEvents,
} from "../../runtime/introspection/platform-events.ts";
import { driftEvents, driftScore, driftState } from "../lifecycle-metrics.ts";
import { type DriftLevel, DriftStateMachine, type DriftStateName } from "./machine.ts";
import {
  clippedLogLoss,
  PAGE_HINKLEY_DEFAULTS,
  PageHinkleyDetector,
  type PageHinkleyOptions,
} from "./page-hinkley.ts";
import type { DriftReference } from "./reference.ts";
import { WindowDetector, type WindowOptions } from "./window-detector.ts";

export type DetectorKind = "psi" | "js" | "page_hinkley";

export interface DriftThresholds {
  warning: number;
  drift: number;
  /** Drift-level evaluations in a row before the state is drift (and ok ones to leave it). */
  confirmations: number;
}

/**
 * Calibrated defaults (docs/drift.md): PSI 0.1 / 0.25 (the usual reading) and Jensen-Shannon
 * 0.01 / 0.02 bits are far above the sampling noise of a window (JS ≈ (k−1) / (8 n ln 2): 5·10⁻⁴
 * for 6 categories in the smallest window of 2000), and two windows in a row are needed;
 * Page-Hinkley's own λ is its alarm level.
 */
export const DEFAULT_THRESHOLDS: Record<DetectorKind, DriftThresholds> = {
  psi: { warning: 0.1, drift: 0.25, confirmations: 2 },
  js: { warning: 0.01, drift: 0.02, confirmations: 2 },
  page_hinkley: {
    warning: PAGE_HINKLEY_DEFAULTS.lambda / 2,
    drift: PAGE_HINKLEY_DEFAULTS.lambda,
    confirmations: 1,
  },
};

/** A change of a detector's state, as published and written to `<usecase>.drift`. */
export interface DriftEvent {
  usecase: string;
  detector: DetectorKind;
  feature: string;
  state: DriftStateName;
  previous: DriftStateName;
  score: number;
  threshold: number;
  /** Event time of the data that caused it, ms. */
  eventTimeMs: number;
}

export interface DriftMonitorOptions {
  usecase: string;
  thresholds?: Partial<Record<DetectorKind, Partial<DriftThresholds>>>;
  window?: WindowOptions;
  pageHinkley?: PageHinkleyOptions;
  /** Called on every change of state (after metrics and the platform event). */
  onEvent?: (event: DriftEvent) => void;
  machines?: MachineRegistry;
  events?: PlatformEvents;
}

const STATE_VALUE: Record<DriftStateName, number> = { stable: 0, warning: 1, drift: 2 };

/** One detector with its machine, metrics and registration. */
class Tracked {
  readonly machine: DriftStateMachine;
  private readonly unregister: () => void;
  lastEventTimeMs = 0;

  constructor(
    readonly monitor: DriftMonitor,
    readonly detector: DetectorKind,
    readonly feature: string,
    readonly thresholds: DriftThresholds,
  ) {
    const labels = { usecase: monitor.usecase, detector, feature };
    this.machine = new DriftStateMachine(thresholds.confirmations, (state, previous, score) => {
      driftState.set(labels, STATE_VALUE[state]);
      driftEvents.inc({ usecase: monitor.usecase, detector, state });
      monitor.changed({
        usecase: monitor.usecase,
        detector,
        feature,
        state,
        previous,
        score,
        threshold: state === "warning" ? thresholds.warning : thresholds.drift,
        eventTimeMs: this.lastEventTimeMs,
      });
    });
    driftState.set(labels, 0);
    driftScore.set(labels, 0);
    this.unregister = monitor.machineRegistry.register({
      kind: "drift-detector",
      name: `${monitor.usecase}/${detector}/${feature}`,
      usecase: monitor.usecase,
      snapshot: () => ({
        state: this.machine.state,
        context: { score: this.machine.score, threshold: thresholds.drift, feature, detector },
      }),
    });
  }

  report(score: number, eventTimeMs: number): void {
    this.lastEventTimeMs = eventTimeMs;
    const t = this.thresholds;
    const level: DriftLevel = score >= t.drift ? "drift" : score >= t.warning ? "warning" : "ok";
    driftScore.set(
      { usecase: this.monitor.usecase, detector: this.detector, feature: this.feature },
      score,
    );
    this.machine.report(score, level);
  }

  stop(): void {
    this.unregister();
    this.machine.stop();
    const labels = {
      usecase: this.monitor.usecase,
      detector: this.detector,
      feature: this.feature,
    };
    driftState.remove(labels);
    driftScore.remove(labels);
  }
}

/** Page-Hinkley reports its statistic to the machine every this many labelled examples. */
const PAGE_HINKLEY_REPORT_EVERY = 100;

export class DriftMonitor {
  readonly usecase: string;
  readonly machineRegistry: MachineRegistry;
  private readonly bus: PlatformEvents;
  private readonly options: DriftMonitorOptions;
  private readonly thresholds: Record<DetectorKind, DriftThresholds>;
  private windows: { detector: WindowDetector; tracked: Tracked }[] = [];
  private scoreWindow: { detector: WindowDetector; tracked: Tracked } | null = null;
  private readonly pageHinkley: PageHinkleyDetector;
  private readonly performance: Tracked;
  private labelled = 0;
  private latestMs = 0;
  /** Changes of state so far, per state entered. */
  readonly counts: Record<DriftStateName, number> = { stable: 0, warning: 0, drift: 0 };

  constructor(options: DriftMonitorOptions) {
    this.options = options;
    this.usecase = options.usecase;
    this.machineRegistry = options.machines ?? defaultMachines;
    this.bus = options.events ?? defaultEvents;
    const pick = (kind: DetectorKind): DriftThresholds => ({
      ...DEFAULT_THRESHOLDS[kind],
      ...options.thresholds?.[kind],
    });
    this.thresholds = { psi: pick("psi"), js: pick("js"), page_hinkley: pick("page_hinkley") };
    this.pageHinkley = new PageHinkleyDetector(options.pageHinkley);
    if (options.pageHinkley?.lambda !== undefined && !options.thresholds?.page_hinkley) {
      const lambda = options.pageHinkley.lambda;
      this.thresholds.page_hinkley = { warning: lambda / 2, drift: lambda, confirmations: 1 };
    }
    this.performance = new Tracked(this, "page_hinkley", "loss", this.thresholds.page_hinkley);
  }

  /** Data and prediction drift are judged against `reference` from now on (null: not judged). */
  setReference(reference: DriftReference | null): void {
    for (const w of this.windows) w.tracked.stop();
    this.scoreWindow?.tracked.stop();
    this.windows = [];
    this.scoreWindow = null;
    if (!reference) return;
    for (const feature of reference.features) {
      const detector = new WindowDetector(feature, this.options.window);
      const tracked = new Tracked(
        this,
        detector.detector,
        feature.feature,
        this.thresholds[detector.detector],
      );
      this.windows.push({ detector, tracked });
    }
    if (reference.score) {
      const detector = new WindowDetector(reference.score, this.options.window);
      this.scoreWindow = {
        detector,
        tracked: new Tracked(this, "psi", "score", this.thresholds.psi),
      };
    }
  }

  /**
   * Counts a scored batch: `count` rows of `cols` values (row-major), their scores, and the batch's
   * latest event time; closes the windows that are due.
   */
  observeRows(
    rows: ArrayLike<number>,
    count: number,
    cols: number,
    scores: ArrayLike<number> | null,
    eventTimeMs: number,
  ): void {
    if (eventTimeMs > this.latestMs) this.latestMs = eventTimeMs;
    for (const { detector } of this.windows) {
      const c = detector.column;
      if (c >= cols) continue;
      for (let i = 0; i < count; i++) detector.observe(rows[i * cols + c] as number, eventTimeMs);
    }
    if (scores && this.scoreWindow) {
      for (let i = 0; i < count; i++)
        this.scoreWindow.detector.observe(scores[i] as number, eventTimeMs);
    }
    for (const w of this.windows) {
      const score = w.detector.closeIfDue(eventTimeMs);
      if (score !== null) w.tracked.report(score, eventTimeMs);
    }
    if (this.scoreWindow) {
      const score = this.scoreWindow.detector.closeIfDue(eventTimeMs);
      if (score !== null) this.scoreWindow.tracked.report(score, eventTimeMs);
    }
  }

  /** One labelled prediction (the score the model gave before the label was known). */
  observeLabelled(score: number, label: 0 | 1, eventTimeMs: number): void {
    const stat = this.pageHinkley.observe(
      clippedLogLoss(score, label, this.pageHinkley.options.lossMax),
    );
    if (
      ++this.labelled % PAGE_HINKLEY_REPORT_EVERY === 0 ||
      stat >= this.thresholds.page_hinkley.drift
    ) {
      if (!this.pageHinkley.warmingUp) this.performance.report(stat, eventTimeMs);
    }
  }

  /** A new champion: every detector starts again from stable (the loss baseline is re-measured). */
  reset(): void {
    this.pageHinkley.reset();
    this.labelled = 0;
    this.performance.machine.reset();
    for (const w of this.windows) w.tracked.machine.reset();
    this.scoreWindow?.tracked.machine.reset();
  }

  /** The worst state of any detector. */
  get state(): DriftStateName {
    let worst: DriftStateName = "stable";
    for (const t of this.all()) {
      if (STATE_VALUE[t.machine.state] > STATE_VALUE[worst]) worst = t.machine.state;
    }
    return worst;
  }

  /** Every detector's state and score (for the API's drift report). */
  report(): {
    detector: DetectorKind;
    feature: string;
    state: DriftStateName;
    score: number;
    threshold: number;
  }[] {
    return this.all().map((t) => ({
      detector: t.detector,
      feature: t.feature,
      state: t.machine.state,
      score: t.machine.score,
      threshold: t.thresholds.drift,
    }));
  }

  /** @internal Called by a detector's machine on a change of state. */
  changed(event: DriftEvent): void {
    this.counts[event.state]++;
    this.bus.publish("drift", { ...event }, this.usecase);
    this.options.onEvent?.(event);
  }

  stop(): void {
    for (const t of this.all()) t.stop();
    this.windows = [];
    this.scoreWindow = null;
  }

  private all(): Tracked[] {
    const out = [this.performance, ...this.windows.map((w) => w.tracked)];
    if (this.scoreWindow) out.push(this.scoreWindow.tracked);
    return out;
  }
}
