/**
 * The fraud platform as the end-to-end benchmarks run it: in the benchmark's process, embedded
 * log in `dataDir`, no simulator, no automatic training, no HTTP port of its own, quiet logs.
 */
import { buildPlatform, type Platform } from "../../actors/platform.ts";
import { useCases } from "../../models/index.ts";
import { loadConfig } from "../../runtime/config.ts";
import { silentLogger } from "../../runtime/logger.ts";

export interface BenchPlatformOptions {
  partitions: string;
  fsync: string;
  checkpointIntervalMs: string;
}

export async function benchFraudPlatform(
  dataDir: string,
  options: BenchPlatformOptions,
): Promise<{ platform: Platform; appId: string }> {
  const config = loadConfig({
    COELHO_DATA_DIR: dataDir,
    COELHO_USECASES: "fraud",
    COELHO_SIMULATE: "false",
    COELHO_AUTO_TRAIN: "false",
    COELHO_HTTP_PORT: "0",
    COELHO_INSTANCE_ID: "bench",
    COELHO_PARTITIONS: options.partitions,
    COELHO_LOG_LEVEL: "error",
    COELHO_LOG_FSYNC: options.fsync,
    COELHO_CHECKPOINT_INTERVAL_MS: options.checkpointIntervalMs,
  });
  const platform = await buildPlatform(config, useCases(config), { logger: silentLogger });
  return { platform, appId: config.appId };
}
