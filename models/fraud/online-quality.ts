/**
 * Honest online quality: per model version, a sliding window of the most recent labelled
 * predictions (the score the model gave BEFORE the label was known, and the label), from which
 * precision, recall and F2 at the version's threshold, PR-AUC (average precision) and ROC-AUC are
 * computed with the trainers' own metrics (both areas in one pass: `rankingQuality`). Recomputed
 * at most every `refreshMs` (not per label), exported as Prometheus gauges with bounded labels,
 * and readable through `snapshot()`.
 *
 * Bounded: the windows have a fixed size, and only the `maxVersions` most recently labelled
 * versions are kept (the ones being served plus the last few retired); an older one's window and
 * gauge series are dropped.
 */
import {
  modelQuality,
  modelQualityRefreshers,
  modelQualityWindowLabels,
} from "../../runtime/metrics.ts";
import { qualityAt, rankingQuality } from "../trainers/metrics.ts";

export const QUALITY_METRICS = ["pr_auc", "roc_auc", "precision", "recall", "f2"] as const;
export type QualityMetric = (typeof QUALITY_METRICS)[number];

export interface VersionQuality {
  model_version: number;
  threshold: number;
  /** Labelled predictions in the window (at most the window size). */
  labels: number;
  positives: number;
  /** Labelled predictions ever recorded for this version (since this process started). */
  total: number;
  /** NaN where undefined (e.g. PR-AUC without a positive in the window). */
  pr_auc: number;
  roc_auc: number;
  precision: number;
  recall: number;
  f2: number;
  /** Wall time of the computation, ms since the epoch. */
  computedAtMs: number;
}

export interface OnlineQualitySnapshot {
  usecase: string;
  windowSize: number;
  versions: VersionQuality[];
}

export interface OnlineQualityOptions {
  usecase: string;
  /** Most recent labelled predictions per version (default 20,000). */
  windowSize?: number;
  /** Least time between two computations, ms (default 2,000). */
  refreshMs?: number;
  /** Versions kept (default 4). */
  maxVersions?: number;
  /** Export gauges (default true). */
  gauges?: boolean;
}

/** A ring of the last `size` (score, label) pairs. Order does not matter to the metrics. */
class Window {
  readonly scores: Float64Array;
  readonly labels: Uint8Array;
  length = 0;
  next = 0;
  total = 0;
  lastUsed = 0;
  dirty = false;
  computed: VersionQuality | null = null;

  constructor(
    size: number,
    readonly version: number,
    public threshold: number,
  ) {
    this.scores = new Float64Array(size);
    this.labels = new Uint8Array(size);
  }

  add(score: number, label: 0 | 1): void {
    this.scores[this.next] = score;
    this.labels[this.next] = label;
    this.next = (this.next + 1) % this.scores.length;
    if (this.length < this.scores.length) this.length++;
    this.total++;
    this.dirty = true;
  }

  compute(nowMs: number): VersionQuality {
    const scores = this.scores.subarray(0, this.length);
    const labels = this.labels.subarray(0, this.length);
    let positives = 0;
    for (let i = 0; i < labels.length; i++) positives += labels[i] as number;
    const atThreshold = qualityAt(scores, labels, this.threshold, 2);
    // One pass for both areas: computed on the event loop, where a 20,000-row window sorted
    // through a comparator twice was a 13-ms stall every 2 s (models/trainers/metrics.ts).
    const ranking = rankingQuality(scores, labels);
    this.dirty = false;
    this.computed = {
      model_version: this.version,
      threshold: this.threshold,
      labels: this.length,
      positives,
      total: this.total,
      pr_auc: ranking.averagePrecision,
      roc_auc: ranking.rocAuc,
      precision: this.length > 0 ? atThreshold.precision : Number.NaN,
      recall: atThreshold.recall,
      f2: atThreshold.fBeta,
      computedAtMs: nowMs,
    };
    return this.computed;
  }
}

/**
 * @example
 * const quality = new OnlineQuality({ usecase: "fraud" });
 * quality.record(prediction.model_version, prediction.threshold, prediction.score, label.is_fraud);
 * quality.refresh(); // at most every 2 s
 */
export class OnlineQuality {
  readonly usecase: string;
  readonly windowSize: number;
  private readonly refreshMs: number;
  private readonly maxVersions: number;
  private readonly gauges: boolean;
  private readonly windows = new Map<number, Window>();
  private lastRefreshMs = Number.NEGATIVE_INFINITY;
  private sequence = 0;

  constructor(options: OnlineQualityOptions) {
    this.usecase = options.usecase;
    this.windowSize = options.windowSize ?? 20_000;
    this.refreshMs = options.refreshMs ?? 2_000;
    this.maxVersions = options.maxVersions ?? 4;
    this.gauges = options.gauges ?? true;
    if (!(this.windowSize >= 1))
      throw new RangeError(`windowSize ${this.windowSize}; expected >= 1`);
    if (!(this.maxVersions >= 1))
      throw new RangeError(`maxVersions ${this.maxVersions}; expected >= 1`);
    // A scrape refreshes too (when due), so the gauges catch up after the stream goes quiet.
    if (this.gauges) modelQualityRefreshers.add(() => this.refresh());
  }

  /** One labelled prediction: the score the version gave before the label, and the label. */
  record(version: number, threshold: number, score: number, label: 0 | 1): void {
    let window = this.windows.get(version);
    if (!window) {
      window = new Window(this.windowSize, version, threshold);
      window.lastUsed = ++this.sequence;
      this.windows.set(version, window);
      if (this.windows.size > this.maxVersions) this.dropLeastRecent();
    }
    window.threshold = threshold;
    window.lastUsed = ++this.sequence;
    if (Number.isFinite(score)) window.add(score, label);
  }

  /** Recomputes the windows that changed, unless the last computation is under `refreshMs` old. */
  refresh(nowMs = Date.now(), force = false): void {
    if (!force && nowMs - this.lastRefreshMs < this.refreshMs) return;
    let dirty = false;
    for (const window of this.windows.values()) dirty ||= window.dirty;
    if (!dirty) return;
    this.lastRefreshMs = nowMs;
    for (const window of this.windows.values()) {
      if (!window.dirty) continue;
      const q = window.compute(nowMs);
      if (this.gauges) this.export(q);
    }
  }

  /** The last computed quality per version (recomputed first when `fresh`). */
  snapshot(fresh = false): OnlineQualitySnapshot {
    if (fresh) this.refresh(Date.now(), true);
    const versions: VersionQuality[] = [];
    for (const window of this.windows.values()) if (window.computed) versions.push(window.computed);
    versions.sort((a, b) => a.model_version - b.model_version);
    return { usecase: this.usecase, windowSize: this.windowSize, versions };
  }

  private export(q: VersionQuality): void {
    const version = String(q.model_version);
    for (const metric of QUALITY_METRICS) {
      const labels = { usecase: this.usecase, model_version: version, metric };
      const value = q[metric];
      // An undefined value is no sample, not a NaN sample that breaks alerting arithmetic.
      if (Number.isFinite(value)) modelQuality.set(labels, value);
      else modelQuality.remove(labels);
    }
    modelQualityWindowLabels.set({ usecase: this.usecase, model_version: version }, q.labels);
  }

  private dropLeastRecent(): void {
    let oldest: Window | null = null;
    for (const window of this.windows.values()) {
      if (!oldest || window.lastUsed < oldest.lastUsed) oldest = window;
    }
    if (!oldest) return;
    this.windows.delete(oldest.version);
    if (!this.gauges) return;
    const version = String(oldest.version);
    for (const metric of QUALITY_METRICS) {
      modelQuality.remove({ usecase: this.usecase, model_version: version, metric });
    }
    modelQualityWindowLabels.remove({ usecase: this.usecase, model_version: version });
  }
}
