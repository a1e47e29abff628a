/**
 * The fraud use case's hooks for the API and the dashboard (`UseCaseApi` in models/index.ts):
 * its event schema, scoring one transaction on request against the card's current state, the
 * alerts of a scored batch, and realistic example transactions for the "randomize" button.
 *
 * Scoring on request uses the same feature code as the stream (computeFeatures on the card's
 * state before the transaction) and the same inference actor, so a request and the stream agree.
 */
import type { InferenceActor } from "../../actors/inference/index.ts";
import type { ServingModel } from "../../actors/models/champion-watcher.ts";
import type { ScoreAlert, ScoredEvent, UseCaseApi } from "../index.ts";
import { type CardState, initialCardState } from "./card-state.ts";
import { type FeatureSchema, parseFeatureSchema } from "./feature-schema.ts";
import { cardFeatures, computeFeatures } from "./features.ts";
import { LabelEventSchema, TransactionEventSchema } from "./json-schema.ts";
import {
  encodeTransaction,
  parseTransaction,
  type Transaction,
  transactionEntityKey,
} from "./schema.ts";
import type { FraudScore } from "./serving.ts";
import { FraudSimulation } from "./simulator/simulation.ts";

/**
 * The features shown beside a flagged transaction: velocity, amount against the card's habits,
 * geography and novelty, which are what the simulator's fraud scenarios change and what an
 * analyst checks first. (GBT scores have no cheap per-row attribution; these are the evidence.)
 */
const DRIVERS = [
  "amount_zscore",
  "amount_max_ratio_24h",
  "tx_count_1h",
  "speed_from_last_kmh",
  "distance_from_home_km",
  "device_new",
  "ip_new",
  "merchant_new",
  "cvv_missing_count_24h",
] as const;

const encoder = new TextEncoder();
/** Parsed feature schemas by model version (a few versions live at once; parsing is not free). */
const schemas = new Map<number, FeatureSchema>();
const SCHEMAS_KEPT = 8;

function schemaOf(model: ServingModel): FeatureSchema {
  let schema = schemas.get(model.version);
  if (!schema) {
    schema = parseFeatureSchema(model.info.featureSchema);
    if (schemas.size >= SCHEMAS_KEPT) schemas.clear();
    schemas.set(model.version, schema);
  }
  return schema;
}

function round(value: number): number {
  return Number.isFinite(value) ? Math.round(value * 10_000) / 10_000 : value;
}

/** The fraud use case's API hooks. `seed` makes the example transactions reproducible. */
export function fraudApi(options: { seed?: number } = {}): UseCaseApi {
  // A small world of its own: example transactions look like the stream's (cities, merchants,
  // devices, amounts) without touching the platform's simulator.
  const simulation = new FraudSimulation({ seed: options.seed ?? 11, cards: 500 });

  return {
    eventSchema: TransactionEventSchema,
    schemas: { FraudTransaction: TransactionEventSchema, FraudLabel: LabelEventSchema },
    decode: (body) => parseTransaction(encoder.encode(JSON.stringify(body))),
    key: (event) => transactionEntityKey(event as Transaction),
    encode: (event) => encodeTransaction(event as Transaction),

    async score(
      event: unknown,
      state: unknown,
      champion: ServingModel,
      inference: InferenceActor,
    ): Promise<ScoredEvent> {
      const schema = schemaOf(champion);
      const before = (state as CardState | null) ?? initialCardState();
      const row = computeFeatures(before, event as Transaction, schema);
      const result = await inference.score(Float32Array.from(row));
      const features: Record<string, number> = {};
      schema.names.forEach((name, i) => {
        features[name] = round(row[i] ?? Number.NaN);
      });
      const modelVersion = Number(result.modelVersion);
      return {
        score: result.score,
        decision: result.score >= champion.threshold ? "flag" : "pass",
        threshold: champion.threshold,
        modelVersion,
        features,
      };
    },

    alerts(scores, features, champion, max): ScoreAlert[] {
      const schema = schemaOf(champion);
      const cols = schema.names.length;
      const columns = DRIVERS.map((name) => [name, schema.names.indexOf(name)] as const).filter(
        ([, index]) => index >= 0,
      );
      const out: ScoreAlert[] = [];
      for (let i = 0; i < scores.length && out.length < max; i++) {
        const score = scores[i] as FraudScore;
        if (score.decision !== "flag") continue;
        const drivers: Record<string, number> = {};
        for (const [name, index] of columns) {
          drivers[name] = round(features[i * cols + index] ?? Number.NaN);
        }
        out.push({
          key: score.card_id,
          score: score.score,
          modelVersion: score.model_version,
          record: { ...score },
          drivers,
        });
      }
      return out;
    },

    example(key?: string): unknown {
      for (;;) {
        const item = simulation.next();
        if (item.kind === "label") continue;
        const tx = { ...(item.event as Transaction), timestamp: new Date().toISOString() };
        const { timeMs: _, ...wire } = tx;
        delete wire.is_fraud;
        return key === undefined ? wire : { ...wire, card_id: key };
      }
    },

    entityFeatures(state: unknown): Record<string, number> {
      return cardFeatures(state as CardState);
    },
  };
}
