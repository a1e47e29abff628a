/**
 * The metadata every exported model carries (ModelProto.metadata_props), so a loader can check the
 * model before it serves: what it is, which features in which order it expects, and that its graph
 * is the one that was exported.
 */
import { createHash } from "node:crypto";

/** Metadata keys; all start with "coelho." and callers' extra keys may not. */
export const META = {
  /** Format of this metadata; bumped if its meaning changes. */
  formatVersion: "coelho.format_version",
  /** "gbt" | "logistic". */
  kind: "coelho.kind",
  /** "binary" | "regression". */
  task: "coelho.task",
  /** The feature names, in input column order, as a JSON array. */
  featureNames: "coelho.feature_names",
  /** {@link schemaHash} of the feature names. */
  schemaHash: "coelho.schema_hash",
  /** The output tensor's name ("probability" or "prediction"). */
  output: "coelho.output",
  /**
   * {@link contentSha256}: covers the serialised graph and every other metadata entry, so any
   * damage to either (a flipped weight, an edited feature list) is detected.
   */
  checksum: "coelho.content_sha256",
} as const;

export const FORMAT_VERSION = "1";

/** The name of the one input of every exported model: float32 [N, features]. */
export const INPUT_NAME = "features";

/** SHA-256 (hex) of bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * SHA-256 (hex) over the serialised GraphProto and the metadata entries other than the checksum
 * itself (sorted by key, as JSON), the checksum stored under {@link META.checksum}.
 */
export function contentSha256(graph: Uint8Array, metadata: Iterable<[string, string]>): string {
  const entries = [...metadata]
    .filter(([key]) => key !== META.checksum)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash("sha256").update(graph).update(JSON.stringify(entries)).digest("hex");
}

/**
 * A short identity of a feature schema: SHA-256 (hex) of the JSON array of its feature names, in
 * order. Two schemas with the same names in another order hash differently, as they must.
 *
 * @example
 * schemaHash(["amount", "hour"]) !== schemaHash(["hour", "amount"]); // true
 */
export function schemaHash(featureNames: string[]): string {
  return sha256Hex(new TextEncoder().encode(JSON.stringify(featureNames)));
}
