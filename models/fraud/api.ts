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
import { reasonsOf } from "../explain/explainer.ts";
import type { ScoreAlert, ScoredEvent, UseCaseApi } from "../index.ts";
import { type CardState, initialCardState } from "./card-state.ts";
import { cardSummary } from "./card-summary.ts";
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
import type { SimulatedWorld } from "./simulator/platform-world.ts";
import { FraudSimulation } from "./simulator/simulation.ts";

/**
 * The features shown beside a flagged transaction when its model cannot explain itself (one
 * exported before explanations): velocity, amount against the card's habits, geography and
 * novelty, which are what the simulator's fraud scenarios change and what an analyst checks first.
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

/** Reasons shown per alert: the features that added most to its score. */
const ALERT_REASONS = 5;

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

const DAY_MS = 86_400_000;
/** Traffic of the examples' copy of the world: its cards, other transactions than the stream's. */
const EXAMPLE_TRAFFIC_SEED = 0x5eed_ea;
/** An example placed after a card's last transaction comes at least this much later. */
const EXAMPLE_GAP_MIN_MS = 60_000;

/**
 * The time of an example transaction for a card whose last transaction was at `lastMs`: the first
 * moment after it (by at least a minute) at the example's own time of day, which the simulator
 * drew from the card's hours of activity. So its features read as the card's next purchase.
 */
function exampleTimeAfter(lastMs: number, simulatedMs: number): number {
  let gap = (((simulatedMs - lastMs) % DAY_MS) + DAY_MS) % DAY_MS;
  if (gap < EXAMPLE_GAP_MIN_MS) gap += DAY_MS;
  return lastMs + gap;
}

/**
 * The fraud use case's API hooks. Example transactions come from a copy of `world` (the platform's
 * simulated world): the stream's cards, with their homes, devices, merchants and hours, so that a
 * "randomize" on a running platform scores a card with a history. Without `world`, a small world
 * of their own (seed 11, 500 cards).
 */
export function fraudApi(options: { world?: SimulatedWorld } = {}): UseCaseApi {
  const world = options.world;
  const simulation = world
    ? new FraudSimulation({
        seed: world.seed,
        cards: world.cards,
        startMs: world.historyEndMs,
        worldStartMs: world.historyStartMs,
        trafficSeed: EXAMPLE_TRAFFIC_SEED,
        labels: false,
      })
    : new FraudSimulation({ seed: 11, cards: 500, labels: false });

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
      const features32 = Float32Array.from(row);
      const result = await inference.score(features32);
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
        row: features32,
      };
    },

    alerts(scores, features, champion, max, explain): ScoreAlert[] {
      const schema = schemaOf(champion);
      const cols = schema.names.length;
      const columns = DRIVERS.map((name) => [name, schema.names.indexOf(name)] as const).filter(
        ([, index]) => index >= 0,
      );
      const out: ScoreAlert[] = [];
      let explained = 0;
      for (let i = 0; i < scores.length && out.length < max; i++) {
        const score = scores[i] as FraudScore;
        if (score.decision !== "flag") continue;
        const row = features.subarray(i * cols, (i + 1) * cols);
        const alert: ScoreAlert = {
          key: score.card_id,
          score: score.score,
          modelVersion: score.model_version,
          record: { ...score },
          drivers: {},
        };
        // The reasons of the model that scored the batch; any other's would explain another score.
        if (explained < explain && champion.explainer && champion.version === score.model_version) {
          explained++;
          alert.contributions = {};
          for (const reason of reasonsOf(champion.explainer, row, ALERT_REASONS)) {
            alert.drivers[reason.feature] = round(reason.value);
            alert.contributions[reason.feature] = round(reason.contribution);
          }
        } else {
          for (const [name, index] of columns)
            alert.drivers[name] = round(row[index] ?? Number.NaN);
        }
        out.push(alert);
      }
      return out;
    },

    async example(key, stateOf): Promise<unknown> {
      let item = simulation.next();
      while (item.kind !== "transaction") item = simulation.next();
      const { timeMs: simulatedMs, is_fraud: _, ...tx } = item.event;
      const card = key ?? tx.card_id ?? transactionEntityKey(item.event);
      const state = (await stateOf?.(card)) as CardState | null | undefined;
      const timeMs =
        state && state.count > 0 ? exampleTimeAfter(state.lastTimeMs, simulatedMs) : Date.now();
      return { ...tx, card_id: card, timestamp: new Date(timeMs).toISOString() };
    },

    entityFeatures(state: unknown): Record<string, number> {
      return cardFeatures(state as CardState);
    },

    entitySummary(state: unknown): Record<string, unknown> {
      return { ...cardSummary(state as CardState) };
    },
  };
}
