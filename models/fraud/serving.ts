/**
 * The fraud use case's serving path, one processor per shard: for each transaction it computes
 * the features from the card's state BEFORE the transaction (point in time), and after each
 * shard batch it scores the batch's rows in one micro-batched call to the inference actor and
 * appends the scores to `fraud.scores` (same partition as the card), with the decision at the
 * champion's saved threshold, the model version, and a deterministic id (input topic, partition,
 * offset) so a consumer can drop the duplicates a crash replay may write.
 *
 * With no champion nothing is scored (never an untrained model's output); the state still
 * advances and readiness says why.
 */
import type { InferenceActor } from "../../actors/inference/index.ts";
import type { ServingModel } from "../../actors/models/champion-watcher.ts";
import type { Log, LogRecord, StoredRecord } from "../../runtime/log/log.ts";
import type { BatchProcessor } from "../../runtime/shard/entity-model.ts";
import type { CardState } from "./card-state.ts";
import { type FeatureSchema, parseFeatureSchema } from "./feature-schema.ts";
import { computeFeatures } from "./features.ts";
import type { Transaction } from "./schema.ts";

export const FRAUD_SCORES_TOPIC = "fraud.scores";

/** One scored transaction, as written to the scores topic. */
export interface FraudScore {
  id: string;
  transaction_id: string;
  card_id: string;
  amount: number;
  timestamp: string;
  score: number;
  decision: "flag" | "pass";
  threshold: number;
  model_version: number;
}

export interface FraudServingOptions {
  log: Log;
  inputTopic: string;
  scoresTopic: string;
  inference: InferenceActor;
  /** The champion being served, or null. */
  serving: () => ServingModel | null;
  /** Called with the number of events left unscored because there is no champion. */
  onUnscored?: (count: number) => void;
  onScored?: (scores: FraudScore[]) => void;
}

const encoder = new TextEncoder();
/** Parsed feature schemas by model version: parsing JSON per batch would be waste. */
const schemas = new Map<number, FeatureSchema>();

function schemaOf(model: ServingModel): FeatureSchema {
  let schema = schemas.get(model.version);
  if (!schema) {
    schema = parseFeatureSchema(model.info.featureSchema);
    schemas.set(model.version, schema);
  }
  return schema;
}

interface Pending {
  key: string;
  tx: Transaction;
  record: StoredRecord;
}

export function fraudServing(
  options: FraudServingOptions,
  partition: number,
): BatchProcessor<CardState, Transaction> {
  let model: ServingModel | null = null;
  let schema: FeatureSchema | null = null;
  let rows = new Float32Array(0);
  let row = new Float64Array(0);
  let pending: Pending[] = [];
  return {
    onEvent(key, before, _after, tx, record) {
      if (pending.length === 0) {
        // One model per batch: the features and the scores must come from the same version.
        model = options.serving();
        schema = model ? schemaOf(model) : null;
      }
      if (!model || !schema) {
        options.onUnscored?.(1);
        return;
      }
      const cols = schema.names.length;
      const need = (pending.length + 1) * cols;
      if (rows.length < need) {
        const grown = new Float32Array(Math.max(need, rows.length * 2));
        grown.set(rows);
        rows = grown;
      }
      if (row.length !== cols) row = new Float64Array(cols);
      computeFeatures(before, tx, schema, row);
      rows.set(row, pending.length * cols);
      pending.push({ key, tx, record });
    },
    async flush() {
      const batch = pending;
      const batchModel = model;
      pending = [];
      if (batch.length === 0 || !batchModel) return;
      const result = await options.inference.scoreMany(rows, batch.length);
      // The actor may have swapped champions between this batch's features and its scoring; the
      // scores then come from the version it reports, and that version's threshold applies.
      const version = Number(result.modelVersion);
      const threshold =
        version === batchModel.version
          ? batchModel.threshold
          : (options.serving()?.threshold ?? batchModel.threshold);
      const scores: FraudScore[] = [];
      const records: LogRecord[] = [];
      for (let i = 0; i < batch.length; i++) {
        const { key, tx, record } = batch[i] as Pending;
        const score = result.scores[i] ?? Number.NaN;
        const out: FraudScore = {
          id: `${options.inputTopic}/${partition}/${record.offset}`,
          transaction_id: tx.transaction_id,
          card_id: key,
          amount: tx.amount,
          timestamp: tx.timestamp,
          score,
          decision: score >= threshold ? "flag" : "pass",
          threshold,
          model_version: version,
        };
        scores.push(out);
        records.push({ key: encoder.encode(key), value: encoder.encode(JSON.stringify(out)) });
      }
      await options.log.append(options.scoresTopic, partition, records);
      options.onScored?.(scores);
    },
  };
}
