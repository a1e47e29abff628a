/**
 * The fraud platform as the end-to-end benchmarks run it: in the benchmark's process, embedded
 * log in `dataDir`, no simulator, no automatic training, no HTTP port of its own, quiet logs;
 * and how they feed it.
 */
import { buildPlatform, type Platform } from "../../actors/platform.ts";
import { FRAUD_LABELS_TOPIC, FRAUD_TRANSACTIONS_TOPIC } from "../../models/fraud/entity.ts";
import type { SimulatedItem } from "../../models/fraud/simulator/index.ts";
import { useCases } from "../../models/index.ts";
import { loadConfig } from "../../runtime/config.ts";
import type { Log, LogRecord } from "../../runtime/log/log.ts";
import { silentLogger } from "../../runtime/logger.ts";

/** A simulated record and the topic it goes to. */
export type Item = { topic: string; record: LogRecord };

/** A simulator item (transaction or label) as the record to produce and its topic. */
export function itemOf(item: SimulatedItem): Item {
  const topic = item.kind === "transaction" ? FRAUD_TRANSACTIONS_TOPIC : FRAUD_LABELS_TOPIC;
  return { topic, record: item.record };
}

/** Appends items, transactions and labels, to their topics, keyed as the simulator keys them. */
export async function produceItems(log: Log, items: readonly Item[]): Promise<void> {
  const byTopic = new Map<string, LogRecord[]>();
  for (const { topic, record } of items) {
    const list = byTopic.get(topic);
    if (list) list.push(record);
    else byTopic.set(topic, [record]);
  }
  await Promise.all([...byTopic].map(([topic, records]) => log.produce(topic, records)));
}

/** Records written to `topic` so far, over its partitions (0 while it does not exist). */
export async function recordsWritten(log: Log, topic: string): Promise<number> {
  const partitions = await log.partitionCount(topic).catch(() => 0);
  let total = 0;
  for (let p = 0; p < partitions; p++) total += await log.endOffset(topic, p);
  return total;
}

/** Waits until the platform reports ready (shards restored, a champion serving). */
export async function untilReady(platform: Platform, timeoutMs = 60_000): Promise<void> {
  const readyBy = Date.now() + timeoutMs;
  for (;;) {
    const reasons = await platform.notReadyReasons();
    if (reasons.length === 0) return;
    if (Date.now() > readyBy) {
      throw new Error(`not ready after ${timeoutMs / 1000} s: ${reasons.join("; ")}`);
    }
    await Bun.sleep(100);
  }
}

export interface BenchPlatformOptions {
  partitions: string;
  fsync: string;
  checkpointIntervalMs: string;
}

export async function benchFraudPlatform(
  dataDir: string,
  options: BenchPlatformOptions,
): Promise<{ platform: Platform }> {
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
  return { platform };
}
