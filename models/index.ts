/**
 * The use cases this build serves. Each is a folder under `models/`; the platform starts a
 * consumer group, shards and (optionally) a simulator for each entry.
 */
import type { Config } from "../runtime/config.ts";
import type { Log } from "../runtime/log/log.ts";
import type { EntityModel } from "../runtime/shard/entity-model.ts";
import { counterModel } from "./counter/model.ts";
import { startCounterSimulator } from "./counter/simulator.ts";

export interface UseCase {
  // biome-ignore lint/suspicious/noExplicitAny: the registry holds models of different types.
  model: EntityModel<any, any>;
  /** Starts the built-in simulator; returns its stop function. */
  simulate?: (log: Log, ratePerSecond: number) => () => Promise<void>;
}

/** The use cases, with topic names from the configuration. */
export function useCases(config: Pick<Config, "inputTopics">): UseCase[] {
  const counter = counterModel(config.inputTopics.counter ?? "counter.events");
  return [
    {
      model: counter,
      simulate: (log, ratePerSecond) =>
        startCounterSimulator({
          log,
          topic: counter.inputTopic,
          ratePerSecond,
          keys: 10_000,
          seed: 7,
        }),
    },
  ];
}
