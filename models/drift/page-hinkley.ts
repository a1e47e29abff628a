/**
 * Performance drift: the Page-Hinkley test on the model's loss over the labelled stream. Losses are
 * clipped (one confident miss must not look like a trend) and standardised by the mean and spread
 * of the first `warmup` labelled examples after a (re)start, so one default fits every model:
 * the test accumulates m_t = Σ (z_i − δ) and alarms when m_t − min m exceeds λ.
 *
 * Calibration (docs/drift.md): a fraud model's losses are extremely skewed (a few confident misses
 * in tens of thousands), so the test's exponential bound exp(−θλ) uses the Lundberg exponent θ of
 * the real loss distribution, far below the Gaussian 2δ. Measured on the simulator's scored traffic:
 * θ = 0.041 at δ = 0.1, so λ = 800 gives θλ = 33 (no alarm in 2 million stationary draws), while a
 * new fraud pattern the model misses raises the standardised loss by ~1.8 per event and is found
 * within a few hundred labelled examples. The long warm-up keeps the baseline from being measured
 * on a sample without any of the rare large losses.
 */
import { ValidationError } from "../../runtime/errors.ts";

export interface PageHinkleyOptions {
  /** Tolerated rise, in standard deviations of the warm-up loss. Default 0.1. */
  delta?: number;
  /** Alarm level of the statistic. Default 800. */
  lambda?: number;
  /** Labelled examples whose loss sets the baseline. Default 20 000. */
  warmup?: number;
  /** Losses are clipped to [0, lossMax] (−ln 0.005 by default). */
  lossMax?: number;
}

export const PAGE_HINKLEY_DEFAULTS: Required<PageHinkleyOptions> = {
  delta: 0.1,
  lambda: 800,
  warmup: 20_000,
  lossMax: -Math.log(0.005),
};

/** Log loss of one prediction, clipped to [0, lossMax]. */
export function clippedLogLoss(score: number, label: 0 | 1, lossMax: number): number {
  const p = Number.isFinite(score) ? Math.min(1, Math.max(0, score)) : 0.5;
  const loss = -Math.log(Math.max(1e-12, label === 1 ? p : 1 - p));
  return Math.min(lossMax, loss);
}

export class PageHinkleyDetector {
  readonly detector = "page_hinkley" as const;
  readonly feature = "loss";
  readonly options: Required<PageHinkleyOptions>;
  private n = 0;
  private sum = 0;
  private sumSq = 0;
  private mean = 0;
  private sd = 1;
  private m = 0;
  private mMin = 0;

  constructor(options: PageHinkleyOptions = {}) {
    this.options = { ...PAGE_HINKLEY_DEFAULTS, ...options };
    const { delta, lambda, warmup } = this.options;
    if (!(delta >= 0) || !(lambda > 0) || !(warmup >= 10)) {
      throw new ValidationError(
        "pageHinkley",
        `${JSON.stringify(this.options)}; expected delta ≥ 0, lambda > 0, warmup ≥ 10`,
      );
    }
  }

  /** Whether the baseline is still being measured. */
  get warmingUp(): boolean {
    return this.n < this.options.warmup;
  }

  /** The statistic m_t − min m (0 while warming up). */
  get statistic(): number {
    return this.m - this.mMin;
  }

  /** Adds one labelled prediction's loss; returns the statistic. */
  observe(loss: number): number {
    const x = Math.min(this.options.lossMax, Math.max(0, loss));
    if (this.n < this.options.warmup) {
      this.n++;
      this.sum += x;
      this.sumSq += x * x;
      if (this.n === this.options.warmup) {
        this.mean = this.sum / this.n;
        // A floor on the spread: a model that is never wrong must not turn noise into alarms.
        this.sd = Math.max(1e-3, Math.sqrt(Math.max(0, this.sumSq / this.n - this.mean ** 2)));
      }
      return 0;
    }
    this.m += (x - this.mean) / this.sd - this.options.delta;
    if (this.m < this.mMin) this.mMin = this.m;
    return this.m - this.mMin;
  }

  /** Forgets the baseline and the statistic (a new model). */
  reset(): void {
    this.n = 0;
    this.sum = 0;
    this.sumSq = 0;
    this.m = 0;
    this.mMin = 0;
  }
}
