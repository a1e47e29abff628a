/**
 * The platform: one process of supervised actors. It opens the log (embedded unless Kafka is
 * configured), and for each use case starts shards behind a consumer group (with a re-keying
 * step for unkeyed input), publishes which partitions it owns, serves HTTP and, when asked, runs
 * the use case's simulator; all under one root supervisor.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { UseCase, UseCaseApi } from "../models/index.ts";
import { MlflowRegistry } from "../models/registry/mlflow-registry.ts";
import { openSqliteRegistry } from "../models/registry/sqlite-registry.ts";
import type { ModelRegistry } from "../models/registry/types.ts";
import { service } from "../runtime/actor/service.ts";
import { Supervisor } from "../runtime/actor/supervisor.ts";
import type { ChildSpec } from "../runtime/actor/types.ts";
import { type Config, ConfigError, type KafkaSasl } from "../runtime/config.ts";
import { TIMED_OUT, within } from "../runtime/deadline.ts";
import { Rekeyer, repartitionTopic } from "../runtime/ingest/rekeyer.ts";
import {
  EmbeddedLog,
  type EmbeddedLogOptions,
  openEmbeddedLog,
} from "../runtime/log/embedded/index.ts";
import { deadLetterTopic, type Log, type PartitionListener } from "../runtime/log/log.ts";
import { partitionForString } from "../runtime/log/partitioner.ts";
import { type Logger, log as rootLogger } from "../runtime/logger.ts";
import type { ShardChangelog } from "../runtime/shard/changelog.ts";
import type { BatchProcessor } from "../runtime/shard/entity-model.ts";
import type { ShardStatus } from "../runtime/shard/shard.ts";
import { ShardManager, useCaseStateDir } from "../runtime/shard/shard-manager.ts";
import { dataVolumeFullReason, watchStorage } from "../runtime/storage-metrics.ts";
import { httpApp } from "./http/app.ts";
import { createInferenceActor, type InferenceActor } from "./inference/index.ts";
import { ChampionWatcher, type ServingModel } from "./models/champion-watcher.ts";
import { FlagReasonSampler } from "./models/flag-reasons.ts";
import { Membership, membersTopic } from "./routing/membership.ts";

/**
 * Rows per onnxruntime call at most. A shard scores its whole batch (up to COELHO_BATCH_MAX rows)
 * in one `scoreMany`; in batches of 256 that took eight round trips to the scoring worker, each
 * of which waited for the event loop to be free of another shard's batch to send the next, and
 * the worker sat idle meanwhile. One call per shard batch: `bun run bench -- e2e-fraud` went from
 * 36k to 40k events/s (fsync always, 5 alternating runs) and from 40k to 50-53k (fsync interval).
 * Light load is unchanged: batches are as small as what is queued.
 */
const INFERENCE_BATCH_MAX = 2048;

export type EntityAnswer =
  | { kind: "unknown_usecase" }
  | { kind: "not_owned"; partition: number; owner: { instanceId: string; url: string } | null }
  | {
      kind: "found";
      partition: number;
      offset: number;
      state: unknown;
      /** The entity's state as a person reads it, when the use case offers it. */
      summary?: Record<string, unknown>;
      /** The entity's current features (from its state alone), when the use case offers them. */
      features?: Record<string, number>;
    };

/** What the API needs to score one event of a use case on request. */
export interface ScoringHandle {
  api: UseCaseApi;
  inference: InferenceActor;
  /** The champion being served, or null. */
  champion(): ServingModel | null;
  /** The topic events are appended to when a request asks to apply its event. */
  inputTopic: string;
}

/** Hears each scored batch of a use case (see `ServingContext.onScored`). */
export type ScoredListener = (
  usecase: string,
  scores: readonly unknown[],
  features: Float32Array,
) => void;

/** Upper bound on score listeners (the API holds one per app, not one per client). */
const SCORED_LISTENERS_MAX = 64;
/** How long a graceful stop waits for the instance's last (empty) ownership claim. */
const LAST_CLAIM_MS = 2_000;

export interface Platform {
  readonly config: Config;
  readonly log: Log;
  readonly root: Supervisor;
  readonly membership: Membership;
  /** The port the HTTP server listens on (useful when configured as 0). */
  httpPort(): number;
  /** The URL other instances use to reach this one. */
  advertisedUrl(): string;
  useCaseNames(): string[];
  /** The topics the use cases read; each one's refused events are in `<topic>.dlq`. */
  inputTopics(): string[];
  /** The use case that reads `topic`, or null. */
  usecaseOfTopic(topic: string): string | null;
  /** An entity's state from this instance's shards, or who owns it when they do not. */
  entity(usecase: string, key: string): Promise<EntityAnswer>;
  shardStatuses(): Promise<ShardStatus[]>;
  shardLifecycles(): { usecase: string; partition: number; state: string; inStateMs: number }[];
  notReadyReasons(): Promise<string[]>;
  /**
   * What works less well than it should while the instance still serves (the model registry does
   * not answer: the current champion keeps serving, retraining and promotion wait). Readiness
   * stays 200 and lists these.
   */
  degradedReasons(): string[];
  /** The model registry; null when no use case scores. */
  readonly registry: ModelRegistry | null;
  /** A use case's scoring on request; null when it is not served here or does not score. */
  scoring(usecase: string): ScoringHandle | null;
  /** A use case's online model quality (its own shape), or null. */
  quality(usecase: string): unknown;
  /** Subscribes to every scored batch; returns the function that unsubscribes. */
  onScored(listener: ScoredListener): () => void;
}

/** TLS and SASL options of the Kafka connection; the CA file is read once, at startup. */
function kafkaSecurity(config: Config): { ssl?: boolean | { ca: string[] }; sasl?: KafkaSasl } {
  const { enabled, caFile } = config.kafkaTls;
  let ssl: boolean | { ca: string[] } | undefined;
  if (enabled && caFile) {
    try {
      ssl = { ca: [readFileSync(caFile, "utf8")] };
    } catch (error) {
      throw new ConfigError(
        `COELHO_KAFKA_SSL_CA_FILE: "${caFile}" cannot be read (${(error as NodeJS.ErrnoException).code ?? error}); expected a PEM certificate file`,
      );
    }
  } else if (enabled) {
    ssl = true;
  }
  return { ...(ssl ? { ssl } : {}), ...(config.kafkaSasl ? { sasl: config.kafkaSasl } : {}) };
}

/**
 * Opens the log this configuration asks for. `onConsumerFailure` hears of a group consumer that
 * gave up for good (Kafka), or stopped itself on a batch its listener could not take (embedded),
 * so that its supervisor can restart it.
 */
export async function openLog(
  config: Config,
  onConsumerFailure?: (group: string, error: unknown) => void,
): Promise<Log> {
  if (config.kafkaBrokers.length > 0) {
    const { openKafkaLog } = await import("../runtime/log/kafka/index.ts");
    const sessionTimeoutMs = config.kafkaSessionTimeoutMs;
    return openKafkaLog({
      brokers: config.kafkaBrokers,
      clientId: `${config.appId}-${config.instanceId}`,
      consumer: {
        sessionTimeoutMs,
        heartbeatIntervalMs: Math.floor(sessionTimeoutMs / 5),
        rebalanceTimeoutMs: Math.max(sessionTimeoutMs, 30_000),
      },
      onConsumerFailure,
      ...kafkaSecurity(config),
    });
  }
  return openEmbeddedLog({ ...embeddedLogOptions(config), onConsumerFailure });
}

/**
 * The embedded log of a configuration: under the data folder, with its fsync policy and its
 * retention, without which a platform left running fills its disk (~1.1 GB an hour at the
 * default simulator rate).
 */
export function embeddedLogOptions(config: Config): EmbeddedLogOptions {
  return {
    dir: join(config.dataDir, "log"),
    fsync: config.logFsync,
    retention: {
      ...(config.logRetentionBytes === null ? {} : { maxBytes: config.logRetentionBytes }),
      ...(config.logRetentionMs === null ? {} : { maxAgeMs: config.logRetentionMs }),
    },
  };
}

/** Builds the changelog of a use case's shards; only Kafka mode has one (see changelog.ts). */
export type ChangelogFactory = (
  log: Log,
  usecase: string,
  /** The topics the shards read, the primary first. */
  inputTopics: string[],
  group: string,
  partitions: number,
) => Promise<ShardChangelog | undefined>;

/** In Kafka mode, a transactional changelog per use case; none on the embedded log. */
function kafkaChangelogs(config: Config): ChangelogFactory {
  return async (log, usecase, inputTopics, group, partitions) => {
    if (log.kind !== "kafka") return undefined;
    const { createWorkerKafkaChangelog, KafkaLog } = await import("../runtime/log/kafka/index.ts");
    if (!(log instanceof KafkaLog)) return undefined;
    return createWorkerKafkaChangelog(log, {
      appId: config.appId,
      usecase,
      inputTopic: inputTopics[0] as string,
      inputTopics,
      group,
      partitions,
    });
  };
}

interface Served {
  useCase: UseCase;
  /** The serving path (inference, champion), for use cases that score. */
  inference: InferenceActor | null;
  watcher: ChampionWatcher | null;
  manager: ShardManager<unknown, unknown>;
  /** The topics the shards read: the keyed inputs, and the repartition topic when re-keying. */
  shardTopics: string[];
  partitions: number;
  group: string;
  rekeyer: Rekeyer<unknown> | null;
  rekeyTopics: string[];
}

/** How a group consumer that gave up reaches its supervisor: group id → the service's `fail`. */
type ConsumerFailures = Map<string, (error: unknown) => void>;

/** The consumer of a topic set as a supervised child: stopping it revokes (and checkpoints). */
function consumerChild(
  log: Log,
  id: string,
  group: string,
  topics: string[],
  listener: PartitionListener,
  config: Config,
  failures: ConsumerFailures,
  /** Shards read ahead of the fsync (their outputs wait for it); the re-keyer's appends do not. */
  aheadOfFsync: boolean,
): ChildSpec {
  return {
    id,
    restart: "permanent",
    shutdownMs: config.shutdownMs,
    create: () =>
      service(id, async (fail) => {
        failures.set(group, fail);
        const consumer = await log.consume({
          group,
          topics,
          listener,
          maxBatch: config.batchMax,
          aheadOfFsync,
        });
        return async () => {
          failures.delete(group);
          await consumer.stop();
        };
      }),
  };
}

/**
 * On a first start (no champion in the registry), trains one from simulated history in a child
 * process, off this process's event loop; the champion watcher picks it up when it is promoted.
 */
function initialTrainingChild(
  usecase: string,
  registry: ModelRegistry,
  command: string[],
  logger: Logger,
): ChildSpec {
  const id = `train-initial-${usecase}`;
  return {
    id,
    restart: "temporary",
    shutdownMs: 5_000,
    create: () =>
      service(id, async () => {
        if (await registry.alias(usecase, "champion")) return async () => {};
        logger.info("no champion yet: training one from simulated history", { usecase, command });
        const child = Bun.spawn(["bun", ...command], { stdout: "pipe", stderr: "pipe" });
        let stopping = false;
        void child.exited.then(async (code) => {
          const out = (await new Response(child.stdout).text()).trim().split("\n").slice(-6);
          if (code === 0) logger.info("initial champion trained", { usecase, summary: out });
          else if (stopping) {
            // Our own SIGTERM (the platform is stopping): the next start trains again.
            logger.info("initial training stopped with the platform", { usecase });
          } else {
            const err = (await new Response(child.stderr).text()).trim().split("\n").slice(-5);
            logger.error("initial training failed", { usecase, code, stderr: err });
          }
        });
        return async () => {
          stopping = true;
          child.kill("SIGTERM");
          await child.exited;
        };
      }),
  };
}

/**
 * The topics a use case's shards read, and those its re-keying step reads. The keyed inputs are
 * read directly (a group member gets partition p of each, see `Log.consume`); topics of
 * COELHO_UNKEYED_TOPICS (a keyed input listed there too) are re-keyed into the repartition topic,
 * which the shards then read as well.
 */
function shardInputs(
  useCase: UseCase,
  config: Config,
): { shardTopics: string[]; rekeyTopics: string[] } {
  const { model } = useCase;
  const unkeyed = config.unkeyedTopics[model.name] ?? [];
  const keyed = (useCase.keyedInputs ?? [model.inputTopic]).filter((t) => !unkeyed.includes(t));
  return unkeyed.length > 0
    ? { shardTopics: [...keyed, repartitionTopic(config.appId, model.name)], rekeyTopics: unkeyed }
    : { shardTopics: keyed, rekeyTopics: [] };
}

/** Builds the platform's supervision tree; `root.start()` starts it. */
export async function buildPlatform(
  config: Config,
  useCases: UseCase[],
  options: { logger?: Logger; changelogs?: ChangelogFactory } = {},
): Promise<Platform> {
  const logger = options.logger ?? rootLogger;
  const consumerFailures: ConsumerFailures = new Map();
  const changelogs = options.changelogs ?? kafkaChangelogs(config);
  const log = await openLog(config, (group, error) => {
    const restart = consumerFailures.get(group);
    logger.error(
      restart
        ? "consumer gave up; its supervisor restarts it"
        : "consumer gave up; nothing restarts it",
      { group, error },
    );
    restart?.(error);
  });
  watchStorage({
    dataDir: config.dataDir,
    logBytes: log instanceof EmbeddedLog ? () => log.topicBytes() : null,
  });
  let server: ReturnType<ReturnType<typeof httpApp>["listen"]> | null = null;
  const httpPort = () => server?.server?.port ?? config.httpPort;
  const advertisedUrl = () => config.advertisedUrl.replace(/:0$/, `:${httpPort()}`);
  const membership = new Membership({
    log,
    topic: membersTopic(config.appId),
    instanceId: config.instanceId,
    url: advertisedUrl,
    logger: logger.child({ component: "membership" }),
  });
  const shards = new Supervisor(
    "shards",
    {
      strategy: "one_for_one",
      maxRestarts: 10,
      periodMs: 60_000,
      backoffMinMs: 50,
      backoffMaxMs: 5_000,
    },
    [],
  );
  const served = new Map<string, Served>();
  const scoredListeners = new Set<ScoredListener>();
  let publishTimer: ReturnType<typeof setTimeout> | null = null;
  /** Claims are published only while the membership service runs: never after the log closes. */
  let claimsOpen = false;
  const ownedPartitions = () => {
    const assignments: Record<string, number[]> = {};
    for (const [name, entry] of served) assignments[name] = entry.manager.runningPartitions();
    return assignments;
  };
  const publishClaim = (assignments: Record<string, number[]>) =>
    membership.publish(assignments).catch((error) => {
      logger.warn("could not publish partition ownership", { error });
    });
  // Assignments change in bursts (a rebalance moves several partitions): publish once per burst.
  const publishOwnership = () => {
    if (!claimsOpen || publishTimer) return;
    publishTimer = setTimeout(() => {
      publishTimer = null;
      void publishClaim(ownedPartitions());
    }, 20);
  };

  // With COELHO_MLFLOW_URL the cluster's MLflow server is the registry. It is not pinged here: an
  // MLflow that is down at start leaves the champion watcher retrying (readiness says why).
  const registry: ModelRegistry | null = useCases.some((u) => u.serving)
    ? config.mlflowUrl
      ? new MlflowRegistry({
          url: config.mlflowUrl,
          keepVersions: config.registryKeepVersions,
          logger: logger.child({ component: "registry" }),
        })
      : await openSqliteRegistry({
          dataDir: config.dataDir,
          keepVersions: config.registryKeepVersions,
        })
    : null;
  /** Input topic → the use case reading it. */
  const inputTopics = new Map<string, string>();
  for (const useCase of useCases) {
    const { model } = useCase;
    const { shardTopics, rekeyTopics } = shardInputs(useCase, config);
    // The primary topic: the changelog mirrors its partitions, and entity queries report its position.
    const shardTopic = shardTopics[0] as string;
    for (const topic of new Set([model.inputTopic, ...shardTopics, ...rekeyTopics])) {
      inputTopics.set(topic, model.name);
      await log.ensureTopic({ name: topic, partitions: config.partitions });
      await log.ensureTopic({
        name: deadLetterTopic(topic),
        partitions: await log.partitionCount(topic),
      });
    }
    const partitions = await log.partitionCount(shardTopic);
    for (const topic of shardTopics) {
      const count = await log.partitionCount(topic);
      if (count !== partitions) {
        throw new ConfigError(
          `topic "${topic}" has ${count} partitions and "${shardTopic}" ${partitions}; the keyed inputs of use case "${model.name}" must have the same count (the shard of partition p reads partition p of each)`,
        );
      }
    }
    const group = `${config.appId}-${model.name}`;
    const changelog = await changelogs(log, model.name, shardTopics, group, partitions);
    let inference: InferenceActor | null = null;
    let watcher: ChampionWatcher | null = null;
    let processor: ((partition: number) => BatchProcessor<unknown, unknown>) | undefined;
    if (useCase.serving && registry) {
      // Outputs are derived from the shards' durable input and written again by a replay from the
      // last checkpoint, with the same ids: readers may see them before their fsync (log.ts).
      for (const topic of useCase.serving.outputTopics) {
        await log.ensureTopic({ name: topic, partitions, replayable: true });
      }
      const servingLogger = logger.child({ component: "serving", usecase: model.name });
      inference = createInferenceActor({
        name: `inference-${model.name}`,
        usecase: model.name,
        featureCount: useCase.serving.featureCount,
        batchMax: INFERENCE_BATCH_MAX,
        waitMaxMs: 1,
        mailbox: { capacity: 16_384, overflow: "backpressure" },
        logger: servingLogger,
      });
      const watching = new ChampionWatcher({
        usecase: model.name,
        registry,
        inference,
        pollMs: 2_000,
        logger: servingLogger,
      });
      watcher = watching;
      processor = useCase.serving.processor({
        log,
        inference,
        serving: () => watching.serving(),
        stateDir: useCaseStateDir(config.dataDir, model.name),
        onScored: (scores, features) => {
          // A listener's failure must never fail the shard's batch: it is only an observer.
          for (const listener of scoredListeners) {
            try {
              listener(model.name, scores, features);
            } catch (error) {
              servingLogger.warn("a score listener threw", { error });
            }
          }
        },
      });
    }
    const manager = new ShardManager({
      model,
      log,
      topics: shardTopics,
      changelog,
      processor,
      maxEventBytes: config.maxEventBytes,
      partitionCount: partitions,
      group,
      supervisor: shards,
      dataDir: config.dataDir,
      maxEntitiesPerShard: config.maxEntitiesPerShard,
      entityIdleMs: config.entityIdleMs,
      checkpointIntervalMs: config.checkpointIntervalMs,
      checkpointMaxEvents: config.checkpointMaxEvents,
      batchMax: config.batchMax,
      onOwnershipChange: publishOwnership,
      logger: logger.child({ component: "shard" }),
    });
    const rekeyer =
      rekeyTopics.length > 0
        ? new Rekeyer({
            model,
            log,
            group: `${config.appId}-${model.name}-rekey`,
            targetTopic: repartitionTopic(config.appId, model.name),
            maxEventBytes: config.maxEventBytes,
            logger: logger.child({ component: "rekey", usecase: model.name }),
          })
        : null;
    served.set(model.name, {
      useCase,
      inference,
      watcher,
      manager,
      shardTopics,
      partitions,
      group,
      rekeyer,
      rekeyTopics,
    });
  }

  const children: ChildSpec[] = [
    { id: "shards", create: () => shards, restart: "permanent", shutdownMs: config.shutdownMs },
    {
      id: "membership",
      restart: "permanent",
      shutdownMs: 5_000,
      create: () =>
        service("membership", async () => {
          await membership.start();
          claimsOpen = true;
          // After a restart of this service too: what the shards run now, not an empty claim.
          await membership.publish(ownedPartitions());
          return async () => {
            // The last claim, before the log closes: this instance serves nothing any more, so
            // peers stop forwarding entity queries to it. Shards that stop later change nothing.
            claimsOpen = false;
            if (publishTimer) clearTimeout(publishTimer);
            publishTimer = null;
            // Bounded: a broker that is down would hold the stop for its whole retry budget.
            if ((await within(publishClaim({}), LAST_CLAIM_MS)) === TIMED_OUT) {
              logger.warn(
                `the last ownership claim was not written within ${LAST_CLAIM_MS} ms; peers learn of the change from the rebalance`,
              );
            }
            await membership.stop();
          };
        }),
    },
  ];
  for (const [name, entry] of served) {
    const { inference, watcher } = entry;
    if (inference && watcher && registry) {
      children.push({
        id: `inference-${name}`,
        create: () => inference,
        restart: "permanent",
        shutdownMs: 5_000,
      });
      children.push({
        id: `champion-${name}`,
        restart: "permanent",
        shutdownMs: 5_000,
        create: () =>
          service(`champion-${name}`, async () => {
            await watcher.start();
            return () => watcher.stop();
          }),
      });
      const lifecycle = entry.useCase.lifecycle;
      if (lifecycle) {
        children.push({
          id: `lifecycle-${name}`,
          restart: "permanent",
          shutdownMs: 10_000,
          create: () =>
            service(`lifecycle-${name}`, async () => {
              await lifecycle.start({
                registry,
                log,
                inference,
                dataDir: config.dataDir,
                // The retraining leader (docs/retraining.md): the one process when embedded; in
                // Kafka mode the member running partition 0 of the use case's shard topic.
                isLeader: () =>
                  log.kind === "embedded" || entry.manager.runningPartitions().includes(0),
                logger: logger.child({ component: "lifecycle", usecase: name }),
                championVersion: () => watcher.serving()?.version ?? null,
              });
              return () => lifecycle.stop();
            }),
        });
      }
      const initialTraining = entry.useCase.serving?.initialTraining;
      if (config.autoTrain && initialTraining) {
        children.push(
          initialTrainingChild(name, registry, initialTraining(config.dataDir), logger),
        );
      }
    }
    children.push(
      consumerChild(
        log,
        `ingest-${name}`,
        entry.group,
        entry.shardTopics,
        entry.manager,
        config,
        consumerFailures,
        true,
      ),
    );
    if (entry.rekeyer) {
      const group = `${config.appId}-${name}-rekey`;
      children.push(
        consumerChild(
          log,
          `rekey-${name}`,
          group,
          entry.rekeyTopics,
          entry.rekeyer,
          config,
          consumerFailures,
          false,
        ),
      );
    }
  }
  // The root supervisor's children include the HTTP server, which serves this object.
  let root: Supervisor | null = null;
  const platform: Platform = {
    config,
    log,
    membership,
    get root(): Supervisor {
      if (!root) throw new Error("the platform's supervision tree is not built yet");
      return root;
    },
    httpPort,
    advertisedUrl,
    useCaseNames: () => [...served.keys()],
    inputTopics: () => [...inputTopics.keys()],
    usecaseOfTopic: (topic) => inputTopics.get(topic) ?? null,
    async entity(usecase, key) {
      const entry = served.get(usecase);
      if (!entry) return { kind: "unknown_usecase" };
      const partition = partitionForString(key, entry.partitions);
      const answer = await entry.manager.get(partition, key);
      if (!answer)
        return { kind: "not_owned", partition, owner: membership.owner(usecase, partition) };
      const api = answer.state === null ? undefined : entry.useCase.api;
      const summary = api?.entitySummary?.(answer.state);
      const features = api?.entityFeatures?.(answer.state);
      return {
        kind: "found",
        partition,
        offset: answer.status.nextOffset,
        state: answer.state,
        ...(summary ? { summary } : {}),
        ...(features ? { features } : {}),
      };
    },
    async shardStatuses() {
      const all: ShardStatus[] = [];
      for (const entry of served.values()) all.push(...(await entry.manager.statuses()));
      return all;
    },
    shardLifecycles() {
      return [...served].flatMap(([usecase, entry]) =>
        entry.manager.lifecycleStates().map((l) => ({ usecase, ...l })),
      );
    },
    registry,
    scoring(usecase) {
      const entry = served.get(usecase);
      const api = entry?.useCase.api;
      const watcher = entry?.watcher;
      if (!entry || !api || !entry.inference || !watcher) return null;
      return {
        api,
        inference: entry.inference,
        champion: () => watcher.serving(),
        inputTopic: entry.useCase.model.inputTopic,
      };
    },
    quality(usecase) {
      return served.get(usecase)?.useCase.quality?.() ?? null;
    },
    onScored(listener) {
      if (scoredListeners.size >= SCORED_LISTENERS_MAX) {
        throw new Error(`more than ${SCORED_LISTENERS_MAX} score listeners; one is never removed`);
      }
      scoredListeners.add(listener);
      return () => scoredListeners.delete(listener);
    },
    degradedReasons() {
      const reasons: string[] = [];
      for (const entry of served.values()) {
        const problem = entry.useCase.lifecycle?.problem();
        if (problem) reasons.push(problem);
      }
      return reasons;
    },
    async notReadyReasons() {
      const reasons: string[] = [];
      const health = (log as { ping?: () => Promise<boolean> }).ping;
      if (health && !(await health.call(log).catch(() => false)))
        reasons.push("broker unreachable");
      const full = dataVolumeFullReason();
      if (full) reasons.push(full);
      for (const [name, entry] of served) {
        const noChampion = entry.watcher?.problem();
        if (noChampion) reasons.push(noChampion);
        const restoring = entry.manager
          .lifecycleStates()
          .filter((l) => l.state !== "running")
          .map((l) => l.partition);
        if (restoring.length > 0)
          reasons.push(`${name}: restoring partitions ${restoring.join(",")}`);
        if (log.kind === "embedded" && entry.manager.partitions().length < entry.partitions) {
          reasons.push(`${name}: partitions not yet assigned`);
        }
      }
      return reasons;
    },
  };
  children.push({
    id: "http",
    restart: "permanent",
    shutdownMs: 5_000,
    create: () =>
      service("http", async () => {
        server = httpApp(platform).listen({ port: config.httpPort, hostname: config.httpHost });
        logger.info("http listening", { host: config.httpHost, port: httpPort() });
        return async () => {
          await server?.stop();
          server = null;
        };
      }),
  });
  if (config.simulate) {
    for (const [name, { useCase }] of served) {
      const simulate = useCase.simulate;
      if (!simulate) continue;
      children.push({
        id: `simulate-${name}`,
        restart: "permanent",
        shutdownMs: 5_000,
        create: () =>
          service(`simulate-${name}`, async () =>
            simulate(
              log,
              config.simulateRate,
              logger.child({ component: "simulator", usecase: name }),
            ),
          ),
      });
    }
  }
  root = new Supervisor(
    "root",
    {
      strategy: "one_for_one",
      maxRestarts: 3,
      periodMs: 60_000,
      backoffMinMs: 100,
      backoffMaxMs: 5_000,
    },
    children,
  );
  // Always on (not only while someone watches /ws): what the flags are made of, sampled.
  const flagReasonSampler = new FlagReasonSampler((usecase) => platform.scoring(usecase));
  platform.onScored((usecase, scores, features) =>
    flagReasonSampler.onScored(usecase, scores, features),
  );
  return platform;
}
