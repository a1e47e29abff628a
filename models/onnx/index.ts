/**
 * ONNX export and serving of trained models. Every exported model takes `features` (float32
 * [N, F]) and returns `probability` (binary) or `prediction` (regression), float32 [N, 1], and
 * carries metadata that `loadOnnx` checks against the expected feature schema.
 */
export {
  type ExportableModel,
  type ExportOptions,
  exportOnnx,
  IR_VERSION,
  OPSETS,
} from "./export.ts";
export { contentSha256, INPUT_NAME, META, schemaHash } from "./metadata.ts";
export { type ModelInfo, readModelInfo } from "./model-info.ts";
export {
  type LoadOptions,
  loadOnnx,
  OnnxModelError,
  type OnnxRejection,
  type OnnxScorer,
  releaseOnnx,
  scoreBatch,
} from "./session.ts";
