/**
 * A hand-written rules baseline over the features, the yardstick a trained model must beat.
 * Each rule encodes one fraud pattern a fraud analyst would write down; the score is a capped sum.
 */
import { FEATURE_INDEX as F } from "./feature-schema.ts";

/** Implied speed above which two consecutive card transactions cannot both be genuine. */
export const IMPOSSIBLE_SPEED_KMH = 1000;

/**
 * A fraud score in [0, 1] from a feature vector laid out by any schema of the current version (the
 * numeric features come first in every encoding).
 *
 * @example rulesScore(computeFeatures(before, tx, schema)) > 0.5
 */
export function rulesScore(features: Float64Array): number {
  const v = (index: number) => features[index] ?? 0;
  const seen = v(F.is_first_tx) === 0;
  let score = 0;
  // Stolen or cloned card: the card cannot have travelled that fast since its last transaction.
  if (seen && v(F.speed_from_last_kmh) > IMPOSSIBLE_SPEED_KMH && v(F.distance_from_last_km) > 300) {
    score += 0.6;
  }
  // Account takeover / card not present: a device and an IP never seen, far from home.
  if (seen && v(F.device_new) === 1 && v(F.ip_new) === 1) {
    score += v(F.distance_from_home_km) > 1000 ? 0.4 : 0.15;
  }
  // Card testing: a burst of small amounts at merchants new to the card.
  if (v(F.new_merchant_count_1h) >= 2 && v(F.amount_log) < Math.log1p(10)) score += 0.4;
  // Unusually large for this card.
  if (v(F.amount_zscore) > 3) score += 0.2;
  if (v(F.cvv_provided) === 0) score += 0.1;
  if (v(F.billing_address_match) === 0) score += 0.1;
  if (v(F.hour_usual_fraction) < 0.02) score += 0.05;
  return Math.min(1, score);
}

/** {@link rulesScore} of each of `rows` feature vectors laid out row-major in `x`. */
export function rulesScoreRows(x: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) out[r] = rulesScore(x.subarray(r * cols, (r + 1) * cols));
  return out;
}
