/**
 * The model registry's contract: versions of a use case's model and the aliases that say which
 * one serves. Every backend implements {@link ModelRegistry} and passes the same contract tests
 * (`registry-contract.ts`): the embedded SQLite one (`sqlite-registry.ts`) and, in a cluster, one
 * over an MLflow tracking server.
 *
 * A version is immutable: the ONNX bytes, the feature schema they were trained on, parameters,
 * metrics, the training data's range, and the decision threshold with the costs it was chosen by.
 * Aliases (`champion`, `challenger`) are the only mutable part; moving one is atomic, and that is
 * how a model is promoted or rolled back (the original project had no versions at all: its
 * mistake 9).
 */

/** The alias serving traffic, and the one being evaluated beside it. */
export const ALIASES = ["champion", "challenger"] as const;
export type AliasName = (typeof ALIASES)[number];

export const MODEL_KINDS = ["gbt", "logistic"] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** Bounds (everything is bounded): a fraud GBT of 400 trees is ~1 MB of ONNX. */
export const REGISTRY_LIMITS = {
  onnxBytesMax: 64 * 1024 * 1024,
  /** Each JSON field (schema, params, metrics, costs, offsets) once serialised. */
  jsonBytesMax: 1024 * 1024,
  featuresMax: 10_000,
  featureNameLengthMax: 256,
  metricsMax: 1000,
  metricNameLengthMax: 250,
  descriptionLengthMax: 10_000,
  sourceLengthMax: 1000,
  offsetRangesMax: 10_000,
  /** Versions one `list` call returns at most. */
  listLimitMax: 1000,
  listLimitDefault: 100,
} as const;

/** A use case's name: what the platform calls it (`fraud`), lowercase. */
export const USECASE_PATTERN = /^[a-z][a-z0-9_-]{0,62}$/;
/** A metric's name, as MLflow accepts them (no spaces): `test.pr_auc`, `validation/loss`. */
export const METRIC_NAME_PATTERN = /^[A-Za-z0-9_.\-/:]{1,250}$/;

/**
 * The part of a feature schema every registry reads: the model's input columns, in order. The
 * whole object is stored (as JSON), so the use case's other fields (version, encoding, category
 * lists) come back from `get`.
 */
export interface FeatureSchemaLike {
  readonly names: readonly string[];
}

/** A stored feature schema: the names plus whatever else the use case saved (categories…). */
export interface StoredFeatureSchema {
  names: string[];
  [key: string]: unknown;
}

/** Offsets `[fromOffset, toOffset)` of one topic partition that the training data came from. */
export interface TopicOffsetRange {
  topic: string;
  partition: number;
  fromOffset: number;
  toOffset: number;
}

/** What a model was trained on. */
export interface TrainingDataRange {
  /** Event time of the first and last transaction used, ms since the epoch. */
  fromMs: number;
  toMs: number;
  /** The log ranges read; empty when the data was not read from a log (simulated history). */
  offsets: TopicOffsetRange[];
  /** Where the data came from, for people: `simulated seed=1 days=45 cards=3000`, a log path… */
  source: string;
}

/** What a caller registers. */
export interface NewModelVersion {
  usecase: string;
  kind: ModelKind;
  /** The exported model (`models/onnx/exportOnnx`), at most 64 MiB. */
  onnx: Uint8Array;
  /** The feature schema the model takes; its `names` must equal the ONNX model's inputs. */
  featureSchema: FeatureSchemaLike;
  /** Training parameters, JSON. */
  params: Readonly<Record<string, unknown>>;
  /** name → finite number, e.g. `test.pr_auc`. */
  metrics: Readonly<Record<string, number>>;
  trainingData: TrainingDataRange;
  /** Scores ≥ threshold are flagged; finite. */
  threshold: number;
  /** The cost settings the threshold was chosen with, JSON. */
  costs: Readonly<Record<string, unknown>>;
  description: string;
}

/** A registered version without its bytes (what `list` and `alias` return). */
export interface ModelVersionInfo {
  usecase: string;
  version: number;
  createdAtMs: number;
  kind: ModelKind;
  /** SHA-256 (hex) and size of the ONNX bytes. */
  onnxSha256: string;
  onnxBytes: number;
  featureSchema: StoredFeatureSchema;
  params: Record<string, unknown>;
  metrics: Record<string, number>;
  trainingData: TrainingDataRange;
  threshold: number;
  costs: Record<string, unknown>;
  description: string;
}

/** A registered version with its ONNX bytes. */
export interface ModelVersion extends ModelVersionInfo {
  onnx: Uint8Array;
}

/** Where an alias points, and since when. */
export interface AliasAssignment {
  alias: AliasName;
  version: number;
  setAtMs: number;
}

/** A term a version served as champion: it began when the alias moved to it. */
export interface ChampionTerm {
  version: number;
  fromMs: number;
}

export interface ListOptions {
  /** At most this many versions, newest first. Default 100, [1, 1000]. */
  limit?: number;
}

/**
 * The registry. Methods reject with a `ValidationError` for a bad argument (a bad name, a field
 * out of range), a `ModelRejectedError` for a model that fails validation, and a
 * `VersionNotFoundError` when an alias would point at a missing version.
 */
export interface ModelRegistry {
  /**
   * Validates the model (the ONNX loads with the schema's feature names and scores a probe batch
   * to finite values) and stores it as the use case's next version (1, 2, 3…). A model that fails
   * is not stored, and nothing else changes: the aliases stay where they were.
   */
  register(version: NewModelVersion): Promise<ModelVersion>;
  /** The version with its bytes, or null when the use case has no such version. */
  get(usecase: string, version: number): Promise<ModelVersion | null>;
  /** The use case's versions without bytes, newest first. */
  list(usecase: string, options?: ListOptions): Promise<ModelVersionInfo[]>;
  /** Points the alias at an existing version, atomically (it is never absent in between). */
  setAlias(usecase: string, alias: AliasName, version: number): Promise<AliasAssignment>;
  /** Removes the alias; false when it was not set. */
  deleteAlias(usecase: string, alias: AliasName): Promise<boolean>;
  /** The version the alias points at (without bytes), or null when it is not set. */
  alias(usecase: string, alias: AliasName): Promise<ModelVersionInfo | null>;
  /** Every alias set for the use case. */
  aliases(usecase: string): Promise<AliasAssignment[]>;
  /**
   * Every move of the champion alias to another version, newest first: which model decided at
   * any time. Retention never deletes a version that served as champion.
   */
  championTerms(usecase: string, options?: ListOptions): Promise<ChampionTerm[]>;
  close(): Promise<void>;
}
