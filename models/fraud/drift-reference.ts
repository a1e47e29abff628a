/**
 * The fraud use case's drift reference: code-encoded categories are compared as categories, and
 * the features that grow with a card's age by construction are left out (docs/drift.md).
 */
import { buildDriftReference, type DriftReference } from "../drift/reference.ts";
import { CATEGORICAL_NAMES } from "./feature-schema.ts";

/**
 * Features that grow with a card's age by construction (its history count, account age, first
 * transaction): they drift on any stationary stream, so data drift does not watch them.
 */
export const DRIFT_EXCLUDED_FEATURES = new Set([
  "history_count_log",
  "account_age_days",
  "is_first_tx",
]);

/** The drift reference of fraud rows (code-encoded categories are compared as categories). */
export function fraudDriftReference(
  x: ArrayLike<number>,
  rows: number,
  names: readonly string[],
  scores?: ArrayLike<number>,
): DriftReference {
  return buildDriftReference({
    x,
    rows,
    names,
    categorical: new Set(CATEGORICAL_NAMES),
    exclude: DRIFT_EXCLUDED_FEATURES,
    scores,
  });
}
