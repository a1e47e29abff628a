/**
 * The use cases this build serves. Each is a folder under `models/`; the platform starts a
 * consumer group, shards and (optionally) a simulator for each entry.
 */
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

export function useCases(): UseCase[] {
  const counter = counterModel();
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
