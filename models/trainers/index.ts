/**
 * Model trainers: generic ML with no knowledge of any use case. A use case builds a
 * {@link Dataset} from its feature schema, splits it by time, trains, picks a threshold on the
 * validation slice, judges on the test slice, and exports to ONNX (`models/onnx`).
 */
export {
  type Dataset,
  type SplitFractions,
  type Standardization,
  selectRows,
  standardization,
  type TimeSplit,
  timeOrder,
  timeSplit,
  toFloat32,
  validateBinaryLabels,
  validateDataset,
} from "./dataset.ts";
export {
  type GbtModel,
  type GbtParams,
  type GbtTree,
  gbtFeatureImportance,
  type ResolvedGbtParams,
  trainGbt,
} from "./gbt.ts";
export { GBT_LIMITS } from "./gbt-params.ts";
export { predictGbtBatch, predictGbtProba, predictGbtRaw } from "./gbt-predict.ts";
export {
  type LogisticModel,
  type LogisticParams,
  predictLogistic,
  predictLogisticBatch,
  trainLogistic,
} from "./logistic.ts";
export {
  averagePrecision,
  type Confusion,
  confusionAt,
  logLoss,
  mae,
  qualityAt,
  rmse,
  rocAuc,
  type ThresholdQuality,
} from "./metrics.ts";
export { predictBatch, type TrainedModel } from "./predict.ts";
export { normal, seededRandom } from "./rng.ts";
export { type SyntheticOptions, syntheticBinary } from "./synthetic.ts";
export {
  type CostPoint,
  chooseThreshold,
  chooseThresholdResampled,
  type ResampledThresholdChoice,
  THRESHOLD_RESAMPLES_DEFAULT,
  type ThresholdChoice,
  type ThresholdInput,
} from "./threshold.ts";
