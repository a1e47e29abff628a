/**
 * The use cases this build serves. Each is a folder under `models/`; the platform starts a
 * consumer group, shards, (optionally) a serving path and a simulator for each entry.
 */
import type { InferenceActor } from "../actors/inference/index.ts";
import type { ServingModel } from "../actors/models/champion-watcher.ts";
import type { Config } from "../runtime/config.ts";
import type { Log } from "../runtime/log/log.ts";
import type { BatchProcessor, EntityModel } from "../runtime/shard/entity-model.ts";
import { counterModel } from "./counter/model.ts";
import { startCounterSimulator } from "./counter/simulator.ts";
import { fraudUseCase } from "./fraud/index.ts";

/** What a use case's serving path is given by the platform. */
export interface ServingContext {
  log: Log;
  /** The topic the shards read. */
  inputTopic: string;
  inference: InferenceActor;
  serving: () => ServingModel | null;
}

/** A use case's model serving: its feature count, outputs and per-shard processor. */
export interface Serving {
  featureCount: number;
  /** Topics it writes, created with the input's partition count (outputs stay co-partitioned). */
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
   * Topics always re-keyed by entity into the use case's repartition topic, which the shards then
   * read (e.g. the input and its delayed labels, so both reach the entity's shard in one order).
   * Added to the topics of `COELHO_UNKEYED_TOPICS`; none: the shards read the input topic.
   */
  sources?: string[];
  /** Online model quality, for the API (the use case's own shape). */
  quality?: () => unknown;
  /** Starts the built-in simulator; returns its stop function. */
  simulate?: (log: Log, ratePerSecond: number) => () => Promise<void>;
  serving?: Serving;
}

/** The use cases this process serves, with topic names from the configuration. */
export function useCases(config: Pick<Config, "inputTopics" | "usecases">): UseCase[] {
  const all: Record<string, () => UseCase> = {
    counter: () => {
      const counter = counterModel(config.inputTopics.counter ?? "counter.events");
      return {
        model: counter,
        simulate: (log, ratePerSecond) =>
          startCounterSimulator({
            log,
            topic: counter.inputTopic,
            ratePerSecond,
            keys: 10_000,
            seed: 7,
          }),
      };
    },
    fraud: () => fraudUseCase({ inputTopic: config.inputTopics.fraud }),
  };
  return config.usecases.map((name) => {
    const make = all[name];
    if (!make) throw new Error(`unknown use case ${name}`);
    return make();
  });
}
