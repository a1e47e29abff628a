/**
 * The card-fraud use case: its entity model and built-in simulator, ready for the platform's list
 * of use cases (`models/index.ts`). See docs/fraud.md.
 */
import { join } from "node:path";
import type { UseCase } from "../index.ts";
import { fraudApi } from "./api.ts";
import { FRAUD_LABELS_TOPIC, fraudEntityModel } from "./entity.ts";
import { buildFeatureSchema } from "./feature-schema.ts";
import { fraudLifecycle } from "./lifecycle.ts";
import { OnlineQuality } from "./online-quality.ts";
import { FRAUD_EXAMPLES_TOPIC, FRAUD_SCORES_TOPIC, fraudServing } from "./serving.ts";
import { startFraudSimulator } from "./simulator/producer.ts";

export { FRAUD_LABELS_TOPIC, FRAUD_TRANSACTIONS_TOPIC, fraudEntityModel } from "./entity.ts";

export interface FraudUseCaseOptions {
  inputTopic?: string;
  labelsTopic?: string;
  /** Simulator seed (default 7). */
  seed?: number;
  /** Simulated event time per wall time (default 1440: a day per minute). */
  speed?: number;
  /** Predictions kept per shard for their labels (default 200,000; COELHO_PREDICTIONS_MAX). */
  predictionsMax?: number;
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
  const model = fraudEntityModel({ inputTopic: options.inputTopic, labelsTopic });
  const quality = new OnlineQuality({ usecase: model.name });
  const lifecycle = fraudLifecycle(model.name);
  return {
    model,
    keyedInputs: [model.inputTopic, labelsTopic],
    api: fraudApi(),
    quality: () => quality.snapshot(),
    simulate: (log, ratePerSecond, logger) =>
      startFraudSimulator({
        log,
        transactionsTopic: model.inputTopic,
        labelsTopic,
        ratePerSecond,
        seed: options.seed ?? 7,
        speed: options.speed,
        onResume: ({ firstEventMs, lastEventMs }) =>
          logger.info("simulated world resumed after the last transaction in the log", {
            lastEventTime: new Date(lastEventMs).toISOString(),
            worldStartTime: new Date(firstEventMs).toISOString(),
          }),
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
          },
          partition,
        ),
      // An absolute path: the platform may run from any working directory (a container's).
      initialTraining: (dataDir) => [
        join(import.meta.dir, "..", "train-cli.ts"),
        "fraud",
        "--data-dir",
        dataDir,
      ],
    },
  };
}
