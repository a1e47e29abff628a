/**
 * Export of a trained model to ONNX bytes (a serialised ModelProto), with the metadata a loader
 * checks (`metadata.ts`).
 *
 * The contract every exported model keeps, so serving is model-agnostic:
 * - one input `features`: float32 [N, F], F = the model's feature names, in order;
 * - one output: `probability` (binary: the positive-class probability) or `prediction`
 *   (regression), float32 [N, 1].
 */
import pkg from "../../package.json";
import { ValidationError } from "../../runtime/errors.ts";
import type { GbtModel } from "../trainers/gbt.ts";
import type { LogisticModel } from "../trainers/logistic.ts";
import { gbtGraph, ML_DOMAIN, outputName } from "./gbt-graph.ts";
import { logisticGraph } from "./logistic-graph.ts";
import { contentSha256, FORMAT_VERSION, META, schemaHash } from "./metadata.ts";
import { encodeGraph, encodeModel } from "./onnx-proto.ts";

/**
 * IR 8 with opset 17 and ai.onnx.ml 3: the set one ONNX release (1.12) defined together, well
 * inside what onnxruntime 1.30 runs. TreeEnsembleRegressor is version 3 of ai.onnx.ml.
 */
export const IR_VERSION = 8;
export const OPSETS = [
  { domain: "", version: 17 },
  { domain: ML_DOMAIN, version: 3 },
];
export const PRODUCER_NAME = "coelho-realtime";

export type ExportableModel = GbtModel | LogisticModel;

export interface ExportOptions {
  /** Extra metadata (training data range, run id…); keys must not start with "coelho.". */
  metadata?: Record<string, string>;
  /** ModelProto.model_version (a registry version number), if known. */
  modelVersion?: number;
  docString?: string;
}

/**
 * Serialises a model to ONNX.
 *
 * @example
 * const bytes = exportOnnx(model, { metadata: { "training.offsets": "0-120000" } });
 * const scorer = await loadOnnx(bytes, { featureNames: model.featureNames });
 */
export function exportOnnx(model: ExportableModel, options: ExportOptions = {}): Uint8Array {
  const graph = encodeGraph(model.kind === "gbt" ? gbtGraph(model) : logisticGraph(model));
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.metadata ?? {})) {
    if (key.startsWith("coelho.")) {
      throw new ValidationError(`metadata.${key}`, `keys starting with "coelho." are reserved`);
    }
    metadata[key] = value;
  }
  Object.assign(metadata, {
    [META.formatVersion]: FORMAT_VERSION,
    [META.kind]: model.kind,
    [META.task]: model.task,
    [META.featureNames]: JSON.stringify(model.featureNames),
    [META.schemaHash]: schemaHash(model.featureNames),
    [META.output]: outputName(model.task),
  });
  metadata[META.checksum] = contentSha256(graph, Object.entries(metadata));
  return encodeModel(
    {
      irVersion: IR_VERSION,
      opsets: OPSETS,
      producerName: PRODUCER_NAME,
      producerVersion: pkg.version,
      modelVersion: options.modelVersion,
      docString: options.docString,
      metadata,
    },
    graph,
  );
}
