/**
 * When ground truth becomes known. Fraud is disputed by the cardholder (a chargeback) after days,
 * and some fraud is never reported; a legitimate transaction is confirmed once its dispute window
 * has passed, later still. All delays are in event time, multiplied by `scale` so that a short,
 * accelerated run still sees labels.
 */
import type { Rng } from "./random.ts";

export interface LabelDelayOptions {
  /** Median chargeback delay for fraud, hours of event time. */
  fraudMedianHours: number;
  /** Spread (sigma of the log) of the chargeback delay. */
  fraudSigma: number;
  /** Fraction of fraud never reported: no label ever. */
  fraudUnreportedFraction: number;
  /** Median confirmation delay for legitimate transactions, hours. */
  legitMedianHours: number;
  legitSigma: number;
  /** Fraction of legitimate transactions that get a confirmation (1 = all). */
  legitLabelledFraction: number;
  /** Multiplies every delay (e.g. 0.01 for labels within minutes of event time). */
  scale: number;
}

export const DEFAULT_LABEL_DELAYS: LabelDelayOptions = {
  fraudMedianHours: 48,
  fraudSigma: 0.8,
  fraudUnreportedFraction: 0.1,
  legitMedianHours: 7 * 24,
  legitSigma: 0.3,
  legitLabelledFraction: 1,
  scale: 1,
};

const HOUR_MS = 3_600_000;
/** Delays are clamped: labels never precede their transaction and never wait past 120 days. */
const DELAY_MIN_MS = 1000;
const DELAY_MAX_MS = 120 * 24 * HOUR_MS;

/** Delay until a transaction's label, or null when it will never be labelled. */
export function labelDelayMs(
  isFraud: boolean,
  options: LabelDelayOptions,
  rng: Rng,
): number | null {
  if (isFraud) {
    if (rng.chance(options.fraudUnreportedFraction)) return null;
    const hours = rng.lognormal(options.fraudMedianHours, options.fraudSigma);
    return clampDelay(hours * HOUR_MS * options.scale);
  }
  if (!rng.chance(options.legitLabelledFraction)) return null;
  const hours = rng.lognormal(options.legitMedianHours, options.legitSigma);
  return clampDelay(hours * HOUR_MS * options.scale);
}

function clampDelay(ms: number): number {
  return Math.round(Math.min(DELAY_MAX_MS, Math.max(DELAY_MIN_MS, ms)));
}
