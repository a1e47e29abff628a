/**
 * The platform: one process of supervised actors. It opens the log (embedded unless Kafka is
 * configured), and for each use case starts shards behind a consumer group, the HTTP server and,
 * when asked, the use case's simulator, all under one root supervisor.
 */
import { join } from "node:path";
import type { UseCase } from "../models/index.ts";
import { service } from "../runtime/actor/service.ts";
import { Supervisor } from "../runtime/actor/supervisor.ts";
import type { Config } from "../runtime/config.ts";
import { openEmbeddedLog } from "../runtime/log/embedded/index.ts";
import { deadLetterTopic, type Log } from "../runtime/log/log.ts";
import { partitionForString } from "../runtime/log/partitioner.ts";
import { type Logger, log as rootLogger } from "../runtime/logger.ts";
import type { ShardStatus } from "../runtime/shard/shard.ts";
import { ShardManager } from "../runtime/shard/shard-manager.ts";
import { httpApp } from "./http/app.ts";

export type EntityAnswer =
  | { kind: "unknown_usecase" }
  | { kind: "not_owned"; partition: number }
  | { kind: "found"; partition: number; offset: number; state: unknown };

export interface Platform {
  readonly config: Config;
  readonly log: Log;
  readonly root: Supervisor;
  /** The port the HTTP server listens on (useful when configured as 0). */
  httpPort(): number;
  useCaseNames(): string[];
  entity(usecase: string, key: string): Promise<EntityAnswer>;
  shardStatuses(): Promise<ShardStatus[]>;
  notReadyReasons(): Promise<string[]>;
}

/** Opens the log this configuration asks for. */
export async function openLog(config: Config): Promise<Log> {
  if (config.kafkaBrokers.length > 0) {
    const { openKafkaLog } = await import("../runtime/log/kafka/index.ts");
    return openKafkaLog({
      brokers: config.kafkaBrokers,
      clientId: `${config.appId}-${config.instanceId}`,
    });
  }
  return openEmbeddedLog({ dir: join(config.dataDir, "log"), fsync: config.logFsync });
}

interface Served {
  useCase: UseCase;
  manager: ShardManager<unknown, unknown>;
  partitions: number;
}

/** Builds the platform's supervision tree; `root.start()` starts it. */
export async function buildPlatform(
  config: Config,
  useCases: UseCase[],
  logger: Logger = rootLogger,
) {
  const log = await openLog(config);
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
  for (const useCase of useCases) {
    const { model } = useCase;
    await log.ensureTopic({ name: model.inputTopic, partitions: config.partitions });
    const partitions = await log.partitionCount(model.inputTopic);
    await log.ensureTopic({ name: deadLetterTopic(model.inputTopic), partitions });
    const manager = new ShardManager({
      model,
      log,
      group: `${config.appId}-${model.name}`,
      supervisor: shards,
      dataDir: config.dataDir,
      maxEntitiesPerShard: config.maxEntitiesPerShard,
      entityIdleMs: config.entityIdleMs,
      checkpointIntervalMs: config.checkpointIntervalMs,
      checkpointMaxEvents: config.checkpointMaxEvents,
      batchMax: config.batchMax,
      logger: logger.child({ component: "shard" }),
    });
    served.set(model.name, { useCase, manager, partitions });
  }

  let server: ReturnType<ReturnType<typeof httpApp>["listen"]> | null = null;
  const children = [
    {
      id: "shards",
      create: () => shards,
      restart: "permanent" as const,
      shutdownMs: config.shutdownMs,
    },
    ...[...served.values()].map(({ useCase, manager }) => ({
      id: `ingest-${useCase.model.name}`,
      restart: "permanent" as const,
      shutdownMs: config.shutdownMs,
      create: () =>
        service(`ingest-${useCase.model.name}`, async () => {
          const consumer = await log.consume({
            group: `${config.appId}-${useCase.model.name}`,
            topics: [useCase.model.inputTopic],
            listener: manager,
            maxBatch: config.batchMax,
          });
          return () => consumer.stop();
        }),
    })),
    {
      id: "http",
      restart: "permanent" as const,
      shutdownMs: 5_000,
      create: () =>
        service("http", async () => {
          server = httpApp(platform).listen({ port: config.httpPort, hostname: config.httpHost });
          logger.info("http listening", { host: config.httpHost, port: platform.httpPort() });
          return async () => {
            await server?.stop();
            server = null;
          };
        }),
    },
    ...(config.simulate
      ? [...served.values()]
          .filter(({ useCase }) => useCase.simulate)
          .map(({ useCase }) => ({
            id: `simulate-${useCase.model.name}`,
            restart: "permanent" as const,
            shutdownMs: 5_000,
            create: () =>
              service(`simulate-${useCase.model.name}`, async () =>
                // biome-ignore lint/style/noNonNullAssertion: filtered above.
                useCase.simulate!(log, config.simulateRate),
              ),
          }))
      : []),
  ];
  const root = new Supervisor(
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
  const platform: Platform = {
    config,
    log,
    root,
    httpPort: () => server?.server?.port ?? config.httpPort,
    useCaseNames: () => [...served.keys()],
    async entity(usecase, key) {
      const entry = served.get(usecase);
      if (!entry) return { kind: "unknown_usecase" };
      const partition = partitionForString(key, entry.partitions);
      const answer = await entry.manager.get(partition, key);
      if (!answer) return { kind: "not_owned", partition };
      return { kind: "found", partition, offset: answer.status.nextOffset, state: answer.state };
    },
    async shardStatuses() {
      const all: ShardStatus[] = [];
      for (const entry of served.values()) all.push(...(await entry.manager.statuses()));
      return all;
    },
    async notReadyReasons() {
      const reasons: string[] = [];
      for (const [name, entry] of served) {
        if (log.kind === "embedded" && entry.manager.partitions().length < entry.partitions) {
          reasons.push(`${name}: restoring partitions`);
        }
      }
      return reasons;
    },
  };

  return platform;
}
