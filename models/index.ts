/**
 * The use cases this build serves. Each is a folder under `models/`; the platform starts a
 * consumer group, shards, (optionally) a serving path and a simulator for each entry.
 */
import type { TSchema } from "@sinclair/typebox";
import type { InferenceActor } from "../actors/inference/index.ts";
import type { ServingModel } from "../actors/models/champion-watcher.ts";
import type { Config } from "../runtime/config.ts";
import type { Log } from "../runtime/log/log.ts";
import { loggingHooks } from "../runtime/log/retrying-producer.ts";
import type { Logger } from "../runtime/logger.ts";
import type { BatchProcessor, EntityModel } from "../runtime/shard/entity-model.ts";
import { counterModel } from "./counter/model.ts";
import {
  COUNTER_SIMULATED_KEYS,
  COUNTER_SIMULATED_SEED,
  startCounterSimulator,
} from "./counter/simulator.ts";
import { fraudUseCase } from "./fraud/index.ts";
import type { LifecycleContext } from "./retraining/lifecycle.ts";

/** What a use case's serving path is given by the platform. */
export interface ServingContext {
  log: Log;
  inference: InferenceActor;
  serving: () => ServingModel | null;
  /**
   * Hears each scored batch (the use case's score records, and their feature rows, row-major, in
   * a buffer reused after the call: copy what you keep). The API samples it for the live stream.
   */
  onScored?: (scores: readonly unknown[], features: Float32Array) => void;
  /**
   * The use case's state folder (beside its shards' checkpoints), for what a processor keeps on
   * the side: files named by partition.
   */
  stateDir?: string;
}

/** One event scored on request (`POST /api/v1/<usecase>/score`). */
export interface ScoredEvent {
  score: number;
  /** The use case's decision at the champion's threshold, e.g. "flag" or "pass". */
  decision: string;
  threshold: number;
  modelVersion: number;
  /** The features the model saw, by name (the entity's state before the event). */
  features: Record<string, number>;
  /** The same features as the model took them, in its feature schema's order (to explain it). */
  row: Float32Array;
}

/** A flagged event for the live alerts table, with the features that drove it. */
export interface ScoreAlert {
  /** The entity key. */
  key: string;
  score: number;
  modelVersion: number;
  /** The score record as the use case writes it (amount, time, ids...). */
  record: Record<string, unknown>;
  /**
   * The features behind the flag, by name, with their values: the champion's reasons (the
   * features that added most to this score, largest first) when it can explain itself, otherwise
   * the few features the use case deems most telling.
   */
  drivers: Record<string, number>;
  /** Log-odds each driver added to the score, when they are the champion's reasons. */
  contributions?: Record<string, number>;
}

/**
 * What the API needs of a use case, so that neither `runtime/` nor the API imports use-case code:
 * the schema of one event, scoring one event on request, alerts and an example generator.
 */
export interface UseCaseApi {
  /** JSON Schema (TypeBox) of one event: validates the score request and documents it (OpenAPI). */
  eventSchema: TSchema;
  /** Every wire format of the use case (events, labels...) by name, for the OpenAPI document. */
  schemas?: Record<string, TSchema>;
  /**
   * Decodes a body that passed the schema with the use case's own decoder; throws the runtime's
   * ValidationError (field path, what was expected) for what the schema cannot say.
   */
  decode(body: unknown): unknown;
  /** The entity key of a decoded event. */
  key(event: unknown): string;
  /** The wire bytes of a decoded event (to append it to the input topic when asked). */
  encode(event: unknown): Uint8Array;
  /**
   * Scores a decoded event with `champion` against the entity's state before it (`null`: an
   * entity not seen yet), without changing any state.
   */
  score(
    event: unknown,
    state: unknown,
    champion: ServingModel,
    inference: InferenceActor,
  ): Promise<ScoredEvent>;
  /**
   * The flagged events of one scored batch (`onScored`'s arguments), at most `max`; the first
   * `explain` of them with the champion's reasons (an explanation costs 0.4–1.5 ms, so the caller
   * bounds how many a second).
   */
  alerts(
    scores: readonly unknown[],
    features: Float32Array,
    champion: ServingModel,
    max: number,
    explain: number,
  ): ScoreAlert[];
  /**
   * A realistic event for the dashboard's "randomize" button; `key` picks its entity. `stateOf`
   * reads an entity's current state (`null` when unknown or out of reach; from another instance
   * in Kafka mode, as JSON, typed arrays as arrays), so that the event can come as the entity's
   * next one.
   */
  example(key?: string, stateOf?: (key: string) => Promise<unknown>): Promise<unknown>;
  /** The entity's current features from its state alone (the entity query shows them). */
  entityFeatures?(state: unknown): Record<string, number>;
  /** The entity's state as a person reads it (the entity query shows it above the raw state). */
  entitySummary?(state: unknown): Record<string, unknown>;
}

/** A use case's model serving: its feature count, outputs and per-shard processor. */
export interface Serving {
  featureCount: number;
  /**
   * Topics it writes, created with the input's partition count (outputs stay co-partitioned) and
   * replayable (`TopicSpec`): the processor must write only what a replay of its input from the
   * last checkpoint writes again, with deterministic ids, and wait for its appends before the
   * batch ends, so a checkpoint never includes input whose outputs are not durable.
   */
  outputTopics: string[];
  // biome-ignore lint/suspicious/noExplicitAny: the registry holds use cases of different types.
  processor: (context: ServingContext) => (partition: number) => BatchProcessor<any, any>;
  /** Command (after `bun`) that trains and promotes a first champion from simulated history. */
  initialTraining?: (dataDir: string) => string[];
}

export interface UseCase {
  // biome-ignore lint/suspicious/noExplicitAny: the registry holds models of different types.
  model: EntityModel<any, any>;
  /**
   * The topics keyed by entity and partitioned alike that the shards read, the model's input
   * topic first (e.g. transactions and their delayed labels, both keyed by card); default: the
   * input topic alone. On a log that assigns co-partitioned groups (embedded) the shards read them
   * directly; otherwise (Kafka) several are re-keyed into the use case's repartition topic, so
   * that one member reads every input of its entities. Topics of `COELHO_UNKEYED_TOPICS` are
   * always re-keyed.
   */
  keyedInputs?: string[];
  /** Online model quality, for the API (the use case's own shape). */
  quality?: () => unknown;
  /** Starts the built-in simulator; returns its stop function. */
  simulate?: (log: Log, ratePerSecond: number, logger: Logger) => () => Promise<void>;
  serving?: Serving;
  /** Scoring on request, alerts and examples for the API and dashboard (use cases that score). */
  api?: UseCaseApi;
  /**
   * Drift detection, retraining and rollout (use cases that score); the platform starts it once the
   * champion watcher runs and stops it before the serving path. See docs/retraining.md.
   */
  lifecycle?: {
    start(context: LifecycleContext): Promise<void>;
    stop(): Promise<void>;
    /** Why the lifecycle is degraded (the registry does not answer), or null. Still serving. */
    problem(): string | null;
  };
}

/** The use cases this process serves, with topic names from the configuration. */
export function useCases(
  config: Pick<Config, "inputTopics" | "usecases"> &
    Partial<Pick<Config, "predictionsMax" | "labelsTopics" | "simulateFromMs">>,
): UseCase[] {
  const all: Record<string, () => UseCase> = {
    counter: () => {
      const counter = counterModel(config.inputTopics.counter ?? "counter.events");
      return {
        model: counter,
        simulate: (log, ratePerSecond, logger) =>
          startCounterSimulator({
            log,
            topic: counter.inputTopic,
            ratePerSecond,
            keys: COUNTER_SIMULATED_KEYS,
            seed: COUNTER_SIMULATED_SEED,
            hooks: loggingHooks(logger),
          }),
      };
    },
    fraud: () =>
      fraudUseCase({
        inputTopic: config.inputTopics.fraud,
        labelsTopic: config.labelsTopics?.fraud,
        predictionsMax: config.predictionsMax,
        nowMs: config.simulateFromMs ?? undefined,
      }),
  };
  return config.usecases.map((name) => {
    const make = all[name];
    if (!make) throw new Error(`unknown use case ${name}`);
    return make();
  });
}
