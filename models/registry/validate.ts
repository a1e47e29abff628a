/**
 * What every backend does before it stores a version: check each field (names, bounds, JSON), then
 * check the model itself — it loads with the schema's feature names (loadOnnx's format, checksum,
 * metadata and schema checks), is the kind it claims, and scores a probe batch to finite values.
 * Only a version that passes everything reaches storage, so a damaged upload cannot displace a
 * working champion.
 */
import { ValidationError } from "../../runtime/errors.ts";
import { sha256Hex } from "../onnx/metadata.ts";
import {
  loadOnnx,
  OnnxModelError,
  type OnnxScorer,
  releaseOnnx,
  scoreBatch,
} from "../onnx/session.ts";
import { seededRandom } from "../trainers/rng.ts";
import { ModelRejectedError } from "./errors.ts";
import {
  ALIASES,
  type AliasName,
  REGISTRY_LIMITS as L,
  type ListOptions,
  METRIC_NAME_PATTERN,
  MODEL_KINDS,
  type ModelKind,
  type NewModelVersion,
  USECASE_PATTERN,
} from "./types.ts";

/** A version checked and serialised, ready for a backend to store. */
export interface PreparedVersion {
  usecase: string;
  kind: ModelKind;
  onnx: Uint8Array;
  onnxSha256: string;
  featureSchemaJson: string;
  paramsJson: string;
  metricsJson: string;
  offsetsJson: string;
  costsJson: string;
  dataFromMs: number;
  dataToMs: number;
  dataSource: string;
  threshold: number;
  description: string;
}

/** Throws a ValidationError unless `usecase` is a valid use-case name. */
export function checkUsecase(usecase: unknown): string {
  if (typeof usecase !== "string" || !USECASE_PATTERN.test(usecase)) {
    throw new ValidationError(
      "usecase",
      `${JSON.stringify(usecase)} is not a use-case name; expected 1 to 63 of a-z, 0-9, "_", "-", starting with a letter (e.g. "fraud")`,
    );
  }
  return usecase;
}

/** Throws a ValidationError unless `alias` is `champion` or `challenger`. */
export function checkAlias(alias: unknown): AliasName {
  if (!(ALIASES as readonly unknown[]).includes(alias)) {
    throw new ValidationError(
      "alias",
      `${JSON.stringify(alias)}; expected one of ${ALIASES.join(", ")}`,
    );
  }
  return alias as AliasName;
}

/** Throws a ValidationError unless `version` is a positive integer. */
export function checkVersion(version: unknown): number {
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 1) {
    throw new ValidationError("version", `${String(version)}; expected an integer ≥ 1`);
  }
  return version;
}

/** Retention's bound (`keepVersions`): null keeps every version; else an integer >= 1. */
export function checkKeepVersions(keep: number | null | undefined): number | null {
  if (keep === undefined || keep === null) return null;
  if (!Number.isInteger(keep) || keep < 1) {
    throw new ValidationError(
      "keepVersions",
      `${keep}; expected an integer >= 1, or null to keep every version`,
    );
  }
  return keep;
}

/** The `limit` of a listing: the default when unset; a ValidationError when out of range. */
export function checkLimit(options: ListOptions): number {
  const limit = options.limit ?? L.listLimitDefault;
  if (!Number.isInteger(limit) || limit < 1 || limit > L.listLimitMax) {
    throw new ValidationError("limit", `${limit}; expected an integer in [1, ${L.listLimitMax}]`);
  }
  return limit;
}

const JSON_DEPTH_MAX = 32;

function checkJsonValue(path: string, value: unknown, depth: number): void {
  if (depth > JSON_DEPTH_MAX) {
    throw new ValidationError(path, `nests deeper than ${JSON_DEPTH_MAX} levels`);
  }
  if (value === null || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) {
      throw new ValidationError(
        path,
        `${value}; expected a finite number (JSON has no NaN or Infinity)`,
      );
    }
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) checkJsonValue(`${path}[${i}]`, value[i], depth + 1);
    return;
  }
  const proto = typeof value === "object" ? Object.getPrototypeOf(value) : undefined;
  if (proto === Object.prototype || proto === null) {
    for (const [key, item] of Object.entries(value as object)) {
      if (item !== undefined) checkJsonValue(`${path}.${key}`, item, depth + 1);
    }
    return;
  }
  throw new ValidationError(
    path,
    `is ${proto?.constructor?.name ?? typeof value}; expected JSON (null, boolean, number, string, array or plain object)`,
  );
}

function jsonText(path: string, value: unknown): string {
  checkJsonValue(path, value, 0);
  const text = JSON.stringify(value);
  const bytes = Buffer.byteLength(text);
  if (bytes > L.jsonBytesMax) {
    throw new ValidationError(
      path,
      `is ${bytes} bytes as JSON; expected at most ${L.jsonBytesMax}`,
    );
  }
  return text;
}

function checkObject(path: string, value: unknown): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ValidationError(path, "expected a JSON object");
  }
}

function checkText(path: string, value: unknown, lengthMax: number): string {
  if (typeof value !== "string" || value.length > lengthMax) {
    throw new ValidationError(path, `expected a string of at most ${lengthMax} characters`);
  }
  return value;
}

function checkTimeMs(path: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(
      path,
      `${String(value)}; expected ms since the epoch (an integer ≥ 0)`,
    );
  }
  return value;
}

function checkFeatureNames(value: unknown): string[] {
  checkObject("featureSchema", value);
  const names = (value as { names?: unknown }).names;
  if (!Array.isArray(names) || names.length < 1 || names.length > L.featuresMax) {
    throw new ValidationError(
      "featureSchema.names",
      `expected an array of 1 to ${L.featuresMax} feature names`,
    );
  }
  const seen = new Set<string>();
  names.forEach((name, i) => {
    if (typeof name !== "string" || name.length < 1 || name.length > L.featureNameLengthMax) {
      throw new ValidationError(
        `featureSchema.names[${i}]`,
        `${JSON.stringify(name)}; expected a name of 1 to ${L.featureNameLengthMax} characters`,
      );
    }
    if (seen.has(name))
      throw new ValidationError(`featureSchema.names[${i}]`, `"${name}" appears twice`);
    seen.add(name);
  });
  return names as string[];
}

function checkMetrics(metrics: unknown): void {
  checkObject("metrics", metrics);
  const entries = Object.entries(metrics as object);
  if (entries.length > L.metricsMax) {
    throw new ValidationError(
      "metrics",
      `${entries.length} metrics; expected at most ${L.metricsMax}`,
    );
  }
  for (const [name, value] of entries) {
    if (!METRIC_NAME_PATTERN.test(name)) {
      throw new ValidationError(
        `metrics.${name}`,
        `is not a metric name; expected 1 to 250 of letters, digits, "_", ".", "-", "/", ":"`,
      );
    }
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new ValidationError(
        `metrics.${name}`,
        `${String(value)}; expected a finite number (leave out a metric that is undefined)`,
      );
    }
  }
}

function checkOffsets(offsets: unknown): void {
  if (!Array.isArray(offsets) || offsets.length > L.offsetRangesMax) {
    throw new ValidationError(
      "trainingData.offsets",
      `expected an array of at most ${L.offsetRangesMax} {topic, partition, fromOffset, toOffset}`,
    );
  }
  offsets.forEach((range, i) => {
    const path = `trainingData.offsets[${i}]`;
    const r = range as Record<string, unknown>;
    const ok =
      typeof r === "object" &&
      r !== null &&
      typeof r.topic === "string" &&
      r.topic.length >= 1 &&
      r.topic.length <= 249 &&
      [r.partition, r.fromOffset, r.toOffset].every(
        (v) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0,
      ) &&
      (r.fromOffset as number) <= (r.toOffset as number);
    if (!ok) {
      throw new ValidationError(
        path,
        `${JSON.stringify(range)}; expected {topic, partition, fromOffset, toOffset} with integers ≥ 0 and fromOffset ≤ toOffset`,
      );
    }
  });
}

/** Checks every field except the model's bytes' content; throws a ValidationError. */
export function validateFields(v: NewModelVersion): Omit<PreparedVersion, "onnxSha256"> & {
  featureNames: string[];
} {
  if (typeof v !== "object" || v === null)
    throw new ValidationError("", "expected a model version");
  const usecase = checkUsecase(v.usecase);
  if (!(MODEL_KINDS as readonly unknown[]).includes(v.kind)) {
    throw new ValidationError(
      "kind",
      `${JSON.stringify(v.kind)}; expected one of ${MODEL_KINDS.join(", ")}`,
    );
  }
  if (!(v.onnx instanceof Uint8Array) || v.onnx.length === 0) {
    throw new ValidationError("onnx", "expected the ONNX bytes (a non-empty Uint8Array)");
  }
  if (v.onnx.length > L.onnxBytesMax) {
    throw new ValidationError(
      "onnx",
      `is ${v.onnx.length} bytes; expected at most ${L.onnxBytesMax} (64 MiB): fewer or shallower trees`,
    );
  }
  const featureNames = checkFeatureNames(v.featureSchema);
  checkObject("params", v.params);
  checkMetrics(v.metrics);
  checkObject("costs", v.costs);
  checkObject("trainingData", v.trainingData);
  const dataFromMs = checkTimeMs("trainingData.fromMs", v.trainingData.fromMs);
  const dataToMs = checkTimeMs("trainingData.toMs", v.trainingData.toMs);
  if (dataFromMs > dataToMs) {
    throw new ValidationError("trainingData", `fromMs ${dataFromMs} is after toMs ${dataToMs}`);
  }
  checkOffsets(v.trainingData.offsets);
  if (typeof v.threshold !== "number" || !Number.isFinite(v.threshold)) {
    throw new ValidationError("threshold", `${String(v.threshold)}; expected a finite number`);
  }
  return {
    usecase,
    kind: v.kind,
    // A copy: the caller's buffer could change while the model is checked (loading is async), and
    // the bytes stored must be the bytes checked.
    onnx: v.onnx.slice(),
    featureNames,
    featureSchemaJson: jsonText("featureSchema", v.featureSchema),
    paramsJson: jsonText("params", v.params),
    metricsJson: jsonText("metrics", v.metrics),
    offsetsJson: jsonText("trainingData.offsets", v.trainingData.offsets),
    costsJson: jsonText("costs", v.costs),
    dataFromMs,
    dataToMs,
    dataSource: checkText("trainingData.source", v.trainingData.source, L.sourceLengthMax),
    threshold: v.threshold,
    description: checkText("description", v.description, L.descriptionLengthMax),
  };
}

/** Rows of the probe batch: zeros, ±ones, then seeded values from ±1 to ±10 000. */
export const PROBE_ROWS = 16;

function probeBatch(cols: number): Float32Array {
  const rows = new Float32Array(PROBE_ROWS * cols);
  const random = seededRandom(0x5eed);
  for (let r = 1; r < PROBE_ROWS; r++) {
    const scale = 10 ** ((r - 1) % 5);
    for (let c = 0; c < cols; c++) {
      const v = r === 1 ? 1 : r === 2 ? -1 : (random() * 2 - 1) * scale;
      rows[r * cols + c] = v;
    }
  }
  return rows;
}

/**
 * Loads the model as serving would and scores the probe batch: every score must be finite (and
 * a probability in [0, 1] for a binary model). Throws {@link ModelRejectedError}.
 */
export async function checkModel(
  usecase: string,
  kind: ModelKind,
  onnx: Uint8Array,
  featureNames: string[],
): Promise<void> {
  let scorer: OnnxScorer;
  try {
    scorer = await loadOnnx(onnx, { featureNames });
  } catch (e) {
    if (e instanceof OnnxModelError) {
      // Its message starts "ONNX model rejected (reason): "; ours says that already.
      const detail = e.message.replace(/^ONNX model rejected \([a-z]+\): /, "");
      throw new ModelRejectedError(usecase, e.reason, detail, e);
    }
    throw e;
  }
  try {
    if (scorer.kind !== kind) {
      throw new ModelRejectedError(
        usecase,
        "kind",
        `the ONNX file holds a ${scorer.kind} model; the version says ${kind}`,
      );
    }
    let scores: Float32Array;
    try {
      scores = await scoreBatch(scorer, probeBatch(scorer.cols), PROBE_ROWS, scorer.cols);
    } catch (e) {
      throw new ModelRejectedError(
        usecase,
        "probe",
        `scoring the probe batch failed: ${(e as Error).message}`,
        e,
      );
    }
    const binary = scorer.task === "binary";
    scores.forEach((s, r) => {
      if (!Number.isFinite(s) || (binary && (s < 0 || s > 1))) {
        throw new ModelRejectedError(
          usecase,
          "probe",
          `probe row ${r} scored ${s}; expected ${binary ? "a probability in [0, 1]" : "a finite number"}`,
        );
      }
    });
  } finally {
    await releaseOnnx(scorer);
  }
}

/**
 * Validates a new version completely: fields, then the model. Throws a ValidationError or a
 * {@link ModelRejectedError}; resolves with what a backend stores.
 *
 * @example const prepared = await prepareVersion(newVersion); // then insert it
 */
export async function prepareVersion(v: NewModelVersion): Promise<PreparedVersion> {
  const { featureNames, ...fields } = validateFields(v);
  await checkModel(fields.usecase, fields.kind, fields.onnx, featureNames);
  return { ...fields, onnxSha256: sha256Hex(fields.onnx) };
}
