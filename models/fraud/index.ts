/**
 * The card-fraud use case: its entity model and built-in simulator, ready for the platform's list
 * of use cases (`models/index.ts`). See docs/fraud.md.
 */

import { join } from "node:path";
import { loggingHooks } from "../../runtime/log/retrying-producer.ts";
import type { UseCase } from "../index.ts";
import { fraudApi } from "./api.ts";
import { FRAUD_LABELS_TOPIC, fraudEntityModel } from "./entity.ts";
import { buildFeatureSchema } from "./feature-schema.ts";
import { fraudLifecycle } from "./lifecycle.ts";
import { OnlineQuality } from "./online-quality.ts";
import { FRAUD_EXAMPLES_TOPIC, FRAUD_SCORES_TOPIC, fraudServing } from "./serving.ts";
import {
  SIMULATED_HISTORY_DAYS,
  SIMULATED_SEED,
  simulatedWorld,
} from "./simulator/platform-world.ts";
import { speedFor, startFraudSimulator } from "./simulator/producer.ts";

export { FRAUD_LABELS_TOPIC, FRAUD_TRANSACTIONS_TOPIC, fraudEntityModel } from "./entity.ts";
export {
  SIMULATED_CARDS,
  SIMULATED_HISTORY_DAYS,
  SIMULATED_SEED,
  type SimulatedWorld,
  simulatedWorld,
} from "./simulator/platform-world.ts";

export interface FraudUseCaseOptions {
  inputTopic?: string;
  labelsTopic?: string;
  /** Seed of the built-in simulator's world (default {@link SIMULATED_SEED}, 7). */
  seed?: number;
  /** Predictions kept per shard for their labels (default 200,000; COELHO_PREDICTIONS_MAX). */
  predictionsMax?: number;
  /** Event time at which the built-in world's history ends (default: now, when this is called). */
  nowMs?: number;
}

/**
 * The fraud use case for the platform: shards keyed by card over `fraud.transactions` and the
 * delayed labels of `fraud.labels` (both keyed by card, so a label reaches the shard holding its
 * transaction's prediction; read directly on the embedded log, re-keyed into the repartition
 * topic on Kafka), and a simulator producing transactions and labels. Scores go to
 * `fraud.scores`, labelled predictions to `fraud.examples` and the online quality gauges.
 *
 * @example useCases().push(fraudUseCase());
 */
export function fraudUseCase(options: FraudUseCaseOptions = {}): UseCase {
  const labelsTopic = options.labelsTopic ?? FRAUD_LABELS_TOPIC;
  // One world for the first champion's training, the shards' history and the live traffic: a
  // model is served on cards whose states saw the very past it was trained on (docs/fraud.md).
  const world = simulatedWorld(options.seed ?? SIMULATED_SEED, options.nowMs ?? Date.now());
  const model = fraudEntityModel({ inputTopic: options.inputTopic, labelsTopic });
  const quality = new OnlineQuality({ usecase: model.name });
  const lifecycle = fraudLifecycle(model.name);
  return {
    model,
    keyedInputs: [model.inputTopic, labelsTopic],
    api: fraudApi({ world }),
    quality: () => quality.snapshot(),
    simulate: (log, ratePerSecond, logger) =>
      startFraudSimulator({
        log,
        transactionsTopic: model.inputTopic,
        labelsTopic,
        ratePerSecond,
        seed: world.seed,
        cards: world.cards,
        speed: speedFor(ratePerSecond, world.cards),
        history: { startMs: world.historyStartMs, untilMs: world.historyEndMs },
        onHistoryWritten: (transactions) =>
          logger.info("simulated history written", {
            transactions,
            from: new Date(world.historyStartMs).toISOString(),
            to: new Date(world.historyEndMs).toISOString(),
          }),
        onResume: ({ worldStartMs, lastEventMs }) =>
          logger.info("simulated world resumed after the last transaction in the log", {
            lastEventTime: new Date(lastEventMs).toISOString(),
            worldStartTime: new Date(worldStartMs).toISOString(),
          }),
        onPendingLabels: (labels) =>
          logger.info("simulated labels owed before the restart scheduled again", { labels }),
        onError: (error) => logger.warn("simulator failed", { error }),
        appendHooks: loggingHooks(logger),
      }),
    lifecycle,
    serving: {
      // The feature count of the default (code-encoded) schema; a champion with another fails
      // to load and the current one keeps serving.
      featureCount: buildFeatureSchema().names.length,
      outputTopics: [FRAUD_SCORES_TOPIC, FRAUD_EXAMPLES_TOPIC],
      processor: (context) => (partition) =>
        fraudServing(
          {
            log: context.log,
            scoresTopic: FRAUD_SCORES_TOPIC,
            inference: context.inference,
            serving: context.serving,
            quality,
            usecase: model.name,
            onScored: context.onScored,
            lifecycle,
            predictionsMax: options.predictionsMax,
            unscoredPath: context.stateDir && join(context.stateDir, `p${partition}.unscored`),
          },
          partition,
        ),
      // An absolute path: the platform may run from any working directory (a container's).
      // On the built-in world's history: the one the simulator writes first on an empty log.
      initialTraining: (dataDir) => [
        join(import.meta.dir, "..", "train-cli.ts"),
        "fraud",
        "--data-dir",
        dataDir,
        ...["--seed", String(world.seed), "--cards", String(world.cards)],
        ...["--days", String(SIMULATED_HISTORY_DAYS)],
        ...["--start", new Date(world.historyStartMs).toISOString()],
      ],
    },
  };
}
