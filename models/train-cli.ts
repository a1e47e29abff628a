/**
 * `bun run train fraud [options]`: trains the fraud models, prints how GBT, logistic regression
 * and the rules did on the held-out last period, registers the GBT as a new version in the
 * embedded registry (`<data-dir>/registry.sqlite`) and makes it the champion.
 *
 * The data is simulated history (a first start, nothing recorded yet), or with `--from-log` the
 * transactions and labels the platform recorded in its embedded log (`<data-dir>/log`). The log
 * admits one process at a time, so `--from-log` needs the platform stopped; the registry does not
 * (SQLite in WAL mode), so training from simulated history works beside a running platform.
 *
 * Results go to stdout, progress to stderr. Exit status: 0 done, 1 failed, 2 bad usage.
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, registryKeepVersions } from "../runtime/config.ts";
import { ValidationError } from "../runtime/errors.ts";
import {
  LogLockedError,
  openEmbeddedLog,
  READ_RECORDS_MAX,
} from "../runtime/log/embedded/index.ts";
import type { Log, StoredRecord } from "../runtime/log/log.ts";
import { isoTimeOption, numberOption, parseOrExit, UsageError } from "./cli-options.ts";
import { topFeatures } from "./explain/importance.ts";
import { FRAUD_LABELS_TOPIC, FRAUD_TRANSACTIONS_TOPIC } from "./fraud/entity.ts";
import { formatEvaluationTable } from "./fraud/evaluate.ts";
import { type Label, parseLabel, parseTransaction, type Transaction } from "./fraud/schema.ts";
import {
  fraudModelVersion,
  simulatedHistory,
  TRAINING_TRANSACTIONS_MAX,
  type TrainingSource,
  trainFraudModels,
} from "./fraud/train.ts";
import { openSqliteRegistry } from "./registry/sqlite-registry.ts";
import type { TopicOffsetRange } from "./registry/types.ts";

const USAGE = `usage: bun run train fraud [options]
  --days N          days of simulated history (default 45)
  --cards N         simulated cardholders (default 3000; ~2.6 transactions a day each)
  --seed S          seed of the simulation and of the GBT's sampling (default 1)
  --start ISO       event time at which the simulated history begins (default 2025-01-01)
  --fraud-rate R    simulated share of fraud (default 0.01)
  --review-fee USD  cost of reviewing one flagged transaction (default 5)
  --data-dir DIR    the platform's data directory (default $COELHO_DATA_DIR or ./data)
  --from-log        train on ${FRAUD_TRANSACTIONS_TOPIC} and ${FRAUD_LABELS_TOPIC} recorded in
                    DIR/log instead (the platform must be stopped: the log is locked while it runs)
  --no-promote      register the new version without making it the champion`;

function parse(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      days: { type: "string" },
      cards: { type: "string" },
      seed: { type: "string" },
      start: { type: "string" },
      "fraud-rate": { type: "string" },
      "review-fee": { type: "string" },
      "data-dir": { type: "string" },
      "from-log": { type: "boolean" },
      "no-promote": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) throw new UsageError("");
  if (positionals[0] !== "fraud" || positionals.length !== 1) {
    throw new UsageError(`use case: "${positionals.join(" ")}" is not available; expected "fraud"`);
  }
  return {
    startMs: isoTimeOption(values.start, "start"),
    days: numberOption(values.days, "days", 1, 366, false) ?? 45,
    cards: numberOption(values.cards, "cards", 100, 200_000, true) ?? 3000,
    seed: numberOption(values.seed, "seed", 0, 2 ** 32 - 1, true) ?? 1,
    fraudRate: numberOption(values["fraud-rate"], "fraud-rate", 0.001, 0.2, false) ?? 0.01,
    reviewFeeUsd: numberOption(values["review-fee"], "review-fee", 0, 10_000, false) ?? 5,
    dataDir: values["data-dir"] ?? (process.env.COELHO_DATA_DIR?.trim() || "./data"),
    fromLog: values["from-log"] ?? false,
    promote: !(values["no-promote"] ?? false),
    keepVersions: keepVersionsFromEnv(),
  };
}

/** The platform's version retention, so a CLI registration prunes as the platform's would. */
function keepVersionsFromEnv(): number | null {
  try {
    return registryKeepVersions(process.env);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

type Options = ReturnType<typeof parse>;

interface History {
  transactions: Transaction[];
  labels: Label[];
  training: TrainingSource;
}

/** Every record of a topic, parsed; records that do not parse are counted and skipped. */
async function readTopic<T>(
  log: Log,
  topic: string,
  parseRecord: (bytes: Uint8Array) => T,
  itemsMax: number,
): Promise<{ items: T[]; offsets: TopicOffsetRange[]; skipped: number }> {
  const partitions = await log.partitionCount(topic);
  const items: T[] = [];
  const offsets: TopicOffsetRange[] = [];
  let skipped = 0;
  for (let partition = 0; partition < partitions; partition++) {
    const fromOffset = await log.startOffset(topic, partition);
    const toOffset = await log.endOffset(topic, partition);
    offsets.push({ topic, partition, fromOffset, toOffset });
    for (let next = fromOffset; next < toOffset; ) {
      const batch: StoredRecord[] = await log.read(topic, partition, next, READ_RECORDS_MAX);
      if (batch.length === 0) break;
      for (const record of batch) {
        try {
          items.push(parseRecord(record.value));
        } catch {
          // The platform sends such records to the dead-letter topic; training skips them too.
          skipped++;
        }
      }
      if (items.length > itemsMax) {
        throw new ValidationError(
          topic,
          `holds more than ${itemsMax} records; expected at most that many for one training run (set a retention on the log)`,
        );
      }
      next = (batch.at(-1) as StoredRecord).offset + 1;
    }
  }
  return { items, offsets, skipped };
}

async function historyFromLog(options: Options): Promise<History> {
  const dir = join(options.dataDir, "log");
  if (!existsSync(dir)) {
    throw new ValidationError(
      "--data-dir",
      `${options.dataDir} has no embedded log (${dir} is missing); run the platform with the fraud use case first, or omit --from-log to train on simulated history`,
    );
  }
  let log: Awaited<ReturnType<typeof openEmbeddedLog>>;
  try {
    log = await openEmbeddedLog({ dir });
  } catch (e) {
    if (e instanceof LogLockedError) {
      throw new Error(
        `${dir} is locked by process ${e.pid} (a running platform): --from-log reads the log offline, so stop the platform first, or omit --from-log to train on simulated history`,
        { cause: e },
      );
    }
    throw e;
  }
  try {
    console.error(`reading ${FRAUD_TRANSACTIONS_TOPIC} and ${FRAUD_LABELS_TOPIC} from ${dir}`);
    const txs = await readTopic(
      log,
      FRAUD_TRANSACTIONS_TOPIC,
      parseTransaction,
      TRAINING_TRANSACTIONS_MAX,
    );
    const labels = await readTopic(
      log,
      FRAUD_LABELS_TOPIC,
      parseLabel,
      4 * TRAINING_TRANSACTIONS_MAX,
    );
    console.error(
      `read ${txs.items.length} transactions and ${labels.items.length} labels` +
        (txs.skipped + labels.skipped > 0
          ? ` (skipped ${txs.skipped + labels.skipped} that do not parse)`
          : ""),
    );
    return {
      transactions: txs.items,
      labels: labels.items,
      training: { offsets: [...txs.offsets, ...labels.offsets], source: `embedded log ${dir}` },
    };
  } finally {
    await log.close();
  }
}

function simulated(options: Options): History {
  const { seed, days, cards, fraudRate, startMs } = options;
  const from = startMs === undefined ? "" : ` from ${new Date(startMs).toISOString()}`;
  console.error(`simulating ${days} days of ${cards} cards (seed ${seed})${from}`);
  const history = simulatedHistory({ seed, days, cards, fraudRate, startMs });
  console.error(
    `simulated ${history.transactions.length} transactions (${history.stats.fraud} fraud), ${history.labels.length} labels`,
  );
  return {
    ...history,
    training: {
      offsets: [],
      source: `simulated seed=${seed} days=${days} cards=${cards} fraudRate=${fraudRate}${startMs === undefined ? "" : ` start=${new Date(startMs).toISOString()}`}`,
    },
  };
}

const iso = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace("T", " ");

async function main(): Promise<void> {
  const options = parseOrExit(USAGE, parse);
  const history = options.fromLog ? await historyFromLog(options) : simulated(options);
  const result = trainFraudModels({
    transactions: history.transactions,
    labels: history.labels,
    seed: options.seed,
    costs: { reviewFeeUsd: options.reviewFeeUsd },
    onProgress: (line) => console.error(line),
  });
  const { data } = result;
  const days = (ms: number) => (ms / 86_400_000).toFixed(0);
  const period = (
    name: string,
    fromMs: number,
    toMs: number,
    split: "train" | "validation" | "test",
  ) =>
    `  ${name.padEnd(10)} ${iso(fromMs)} to ${iso(toMs)}: ${data.rows[split]} labelled rows, ${data.positives[split]} fraud`;
  console.log(
    [
      `data: ${data.transactions} transactions; latest event ${iso(data.asOfMs)} UTC; ${days(data.labelWindowMs)}-day label gaps between periods`,
      period("train", data.fromMs, data.trainEndMs, "train"),
      `${period("validation", data.validationStartMs, data.validationEndMs, "validation")} (early stopping, thresholds)`,
      `${period("test", data.testStartMs, data.testEndMs, "test")} (judged once)`,
      "",
    ].join("\n"),
  );
  console.log(
    `test period (review fee $${options.reviewFeeUsd}, a missed fraud costs its amount):`,
  );
  console.log(
    formatEvaluationTable([
      ["gbt", result.gbt.test],
      ["logistic", result.logistic.test],
      ["rules", result.rules.test],
    ]),
  );
  const registry = await openSqliteRegistry({
    dataDir: options.dataDir,
    keepVersions: options.keepVersions,
  });
  try {
    const newVersion = fraudModelVersion(result, "gbt", history.training);
    const reliesOn = topFeatures(newVersion.metrics, 5)
      .map((f) => `${f.feature} ${f.importance.toFixed(2)}`)
      .join(", ");
    console.log(
      `\nthe gbt relies on (mean |log-odds| added to the test period's frauds): ${reliesOn}`,
    );
    const version = await registry.register(newVersion);
    if (options.promote) await registry.setAlias("fraud", "champion", version.version);
    console.log(
      `registered fraud version ${version.version} (gbt, ${version.onnxBytes} bytes of ONNX, threshold ${version.threshold.toPrecision(4)})` +
        `${options.promote ? " as champion" : "; champion unchanged (--no-promote)"} in ${registry.path}`,
    );
  } finally {
    await registry.close();
  }
}

try {
  await main();
} catch (error) {
  console.error(`train: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
