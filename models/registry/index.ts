/**
 * The model registry: versions of each use case's model (ONNX bytes, feature schema, parameters,
 * metrics, training data range, threshold and costs) and the `champion` / `challenger` aliases.
 * The embedded backend is SQLite (`openSqliteRegistry`); every backend implements
 * {@link ModelRegistry} and passes `registry-contract.ts`. See docs/registry.md.
 */
export { ModelRejectedError, type ModelRejection, VersionNotFoundError } from "./errors.ts";
export {
  openSqliteRegistry,
  REGISTRY_FILE_NAME,
  SqliteRegistry,
  type SqliteRegistryOptions,
} from "./sqlite-registry.ts";
export {
  ALIASES,
  type AliasAssignment,
  type AliasName,
  type FeatureSchemaLike,
  type ListOptions,
  MODEL_KINDS,
  type ModelKind,
  type ModelRegistry,
  type ModelVersion,
  type ModelVersionInfo,
  type NewModelVersion,
  REGISTRY_LIMITS,
  type StoredFeatureSchema,
  type TopicOffsetRange,
  type TrainingDataRange,
} from "./types.ts";
export { checkModel, PROBE_ROWS, prepareVersion } from "./validate.ts";
