/**
 * The fraud use case's model lifecycle settings: which features drift detection watches, how a
 * retrained GBT starts (the training defaults), and the costs its threshold is chosen by. The
 * machinery is generic (models/drift, models/retraining, models/rollout).
 */
import { UseCaseLifecycle, type UseCaseLifecycleOptions } from "../retraining/lifecycle.ts";
import { DRIFT_EXCLUDED_FEATURES } from "./drift-reference.ts";
import { CATEGORICAL_NAMES, FEATURE_INDEX } from "./feature-schema.ts";
import { FRAUD_EXAMPLES_TOPIC } from "./serving.ts";
import { FRAUD_GBT_DEFAULTS } from "./train.ts";

export { DRIFT_EXCLUDED_FEATURES, fraudDriftReference } from "./drift-reference.ts";

/** Review fee and chargeback fee of the threshold choice (as the initial training's defaults). */
const REVIEW_FEE_USD = 5;
const CHARGEBACK_FEE_USD = 15;

/** The fraud lifecycle; `overrides` for tests (smaller windows, faster rollouts). */
export function fraudLifecycle(
  usecase = "fraud",
  overrides: Partial<UseCaseLifecycleOptions> = {},
): UseCaseLifecycle {
  return new UseCaseLifecycle({
    usecase,
    examplesTopic: FRAUD_EXAMPLES_TOPIC,
    baseParams: { ...FRAUD_GBT_DEFAULTS },
    // A missed fraud costs its amount (feature 0 is log1p of it) plus the chargeback fee.
    fnCost: (x, row, cols) =>
      Math.expm1(Math.max(0, x[row * cols + FEATURE_INDEX.amount_log] ?? 0)) + CHARGEBACK_FEE_USD,
    fpCost: REVIEW_FEE_USD,
    reference: { categorical: [...CATEGORICAL_NAMES], exclude: [...DRIFT_EXCLUDED_FEATURES] },
    ...overrides,
  });
}
