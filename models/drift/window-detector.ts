/**
 * Data drift of one feature (or of the scores) over tumbling windows of event time: counts the
 * live values into the reference's bins and, when a window closes, scores it against the reference
 * with PSI (numeric bins) or Jensen-Shannon (category codes). Windows span event time (a day by
 * default) so that daily cycles average out exactly as they did in the training rows.
 */
import { ValidationError } from "../../runtime/errors.ts";
import { jensenShannon, psi } from "./divergence.ts";
import { binOf, type FeatureReference } from "./reference.ts";

export interface WindowOptions {
  /** Event time a window spans. Default one day. */
  windowMs?: number;
  /** A window is scored only once it holds this many values (else it grows). Default 2000. */
  windowEventsMin?: number;
  /** A window closes at this many values whatever its span (bounds the delay). Default 200 000. */
  windowEventsMax?: number;
}

export const WINDOW_DEFAULTS: Required<WindowOptions> = {
  windowMs: 86_400_000,
  windowEventsMin: 2000,
  windowEventsMax: 200_000,
};

export class WindowDetector {
  readonly detector: "psi" | "js";
  readonly feature: string;
  readonly column: number;
  private readonly reference: FeatureReference;
  private readonly counts: Float64Array;
  private total = 0;
  private startMs = Number.NaN;
  private readonly window: Required<WindowOptions>;

  constructor(reference: FeatureReference, options: WindowOptions = {}) {
    this.reference = reference;
    this.detector = reference.kind === "numeric" ? "psi" : "js";
    this.feature = reference.feature;
    this.column = reference.column;
    this.counts = new Float64Array(reference.proportions.length);
    this.window = { ...WINDOW_DEFAULTS, ...options };
    const { windowMs, windowEventsMin, windowEventsMax } = this.window;
    if (!(windowMs > 0) || !(windowEventsMin >= 1) || !(windowEventsMax >= windowEventsMin)) {
      throw new ValidationError(
        "window",
        `${JSON.stringify(this.window)}; expected windowMs > 0 and 1 ≤ windowEventsMin ≤ windowEventsMax`,
      );
    }
  }

  /** Counts one live value at event time `timeMs`. */
  observe(value: number, timeMs: number): void {
    if (this.total === 0) this.startMs = timeMs;
    const ref = this.reference;
    let bin: number;
    if (ref.kind === "numeric") bin = binOf(ref.edges, value);
    else bin = Math.min(this.counts.length - 1, Math.max(0, Math.trunc(value || 0)));
    this.counts[bin] = (this.counts[bin] as number) + 1;
    this.total++;
  }

  /** Values in the open window. */
  get pending(): number {
    return this.total;
  }

  /** The window's score when it is due to close at event time `nowMs` (then a new one opens). */
  closeIfDue(nowMs: number): number | null {
    const w = this.window;
    const due =
      this.total >= w.windowEventsMax ||
      (this.total >= w.windowEventsMin && nowMs - this.startMs >= w.windowMs);
    if (!due) return null;
    const ref = this.reference.proportions;
    const score =
      this.detector === "psi"
        ? psi(ref, this.counts, this.total)
        : jensenShannon(ref, this.counts, this.total);
    this.counts.fill(0);
    this.total = 0;
    return score;
  }
}
