/**
 * One predictor for any trained model, for code that should not care which kind it holds
 * (notebooks, the retraining loop's validation). Serving uses the ONNX export instead.
 */
import type { GbtModel } from "./gbt.ts";
import { predictGbtBatch } from "./gbt-predict.ts";
import { type LogisticModel, predictLogisticBatch } from "./logistic.ts";

export type TrainedModel = GbtModel | LogisticModel;

/**
 * The model's output for `rows` consecutive rows of `x` (row-major): the positive-class
 * probability for a binary model, the predicted value for a regression model.
 *
 * @example
 * const p = predictBatch(model, split.test.x, split.test.rows);
 * const ap = averagePrecision(p, split.test.y);
 */
export function predictBatch(
  model: TrainedModel,
  x: ArrayLike<number>,
  rows: number,
): Float64Array {
  return model.kind === "gbt"
    ? predictGbtBatch(model, x, rows)
    : predictLogisticBatch(model, x, rows);
}
