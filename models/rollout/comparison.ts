/**
 * Online comparison of the challenger with the champion on the same live events: each scored event
 * keeps both scores (bounded, oldest dropped first) until its label arrives; labelled pairs feed a
 * window from which both PR-AUCs and log losses are computed.
 */
import { setBounded } from "../../runtime/bounded-map.ts";
import { averagePrecision, logLoss } from "../trainers/metrics.ts";
import { type DifferenceInterval, prAucDifferenceInterval } from "./paired-bootstrap.ts";

export interface ComparisonResult {
  labelled: number;
  positives: number;
  championPrAuc: number;
  challengerPrAuc: number;
  championLogLoss: number;
  challengerLogLoss: number;
}

export class ShadowComparison {
  private readonly pending = new Map<string, [number, number]>();
  private champion: number[] = [];
  private challenger: number[] = [];
  private labels: number[] = [];

  constructor(
    private readonly pendingMax = 500_000,
    private readonly windowMax = 100_000,
  ) {}

  /** Both scores of a scored event. */
  scored(id: string, championScore: number, challengerScore: number): void {
    setBounded(this.pending, id, [championScore, challengerScore], this.pendingMax);
  }

  /** The label of a scored event (ignored when its scores were not kept). */
  labelled(id: string, label: 0 | 1): void {
    const pair = this.pending.get(id);
    if (!pair) return;
    this.pending.delete(id);
    if (this.labels.length >= this.windowMax) {
      // Keep the newer half: amortised O(1), and the window stays recent.
      const half = this.windowMax >> 1;
      this.champion = this.champion.slice(half);
      this.challenger = this.challenger.slice(half);
      this.labels = this.labels.slice(half);
    }
    this.champion.push(pair[0]);
    this.challenger.push(pair[1]);
    this.labels.push(label);
  }

  get count(): number {
    return this.labels.length;
  }

  get positives(): number {
    let n = 0;
    for (const l of this.labels) n += l;
    return n;
  }

  result(): ComparisonResult {
    const prAuc = (s: number[]) => {
      const v = averagePrecision(s, this.labels);
      return Number.isNaN(v) ? 0 : v;
    };
    const loss = (s: number[]) => (this.labels.length > 0 ? logLoss(s, this.labels) : 0);
    return {
      labelled: this.labels.length,
      positives: this.positives,
      championPrAuc: prAuc(this.champion),
      challengerPrAuc: prAuc(this.challenger),
      championLogLoss: loss(this.champion),
      challengerLogLoss: loss(this.challenger),
    };
  }

  /** The interval of the PR-AUC difference on the window (paired bootstrap), off a copy of it. */
  differenceInterval(): Promise<DifferenceInterval> {
    return prAucDifferenceInterval(
      Float64Array.from(this.champion),
      Float64Array.from(this.challenger),
      Float64Array.from(this.labels),
    );
  }

  /** Starts a new comparison window (the pending scores stay: their labels still count). */
  resetWindow(): void {
    this.champion = [];
    this.challenger = [];
    this.labels = [];
  }

  clear(): void {
    this.pending.clear();
    this.resetWindow();
  }
}
