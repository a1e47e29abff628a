/**
 * `bun run simulate -- fraud [options]`: card-fraud traffic into the platform's log, or as JSON lines.
 *
 * Into the log (default): the log the platform would open (embedded under COELHO_DATA_DIR, or Kafka
 * when COELHO_KAFKA_BROKERS is set), at `--rate` transactions per second, until `--count` or
 * Ctrl-C. The embedded log is locked by a running platform: stop it first, or use Kafka.
 *
 * As JSON lines (`--out file.jsonl`, or `--out -` for stdout): as fast as possible, one line per
 * record: `{"topic": ..., "key": ..., "timestampMs": ..., "value": {...}}`.
 *
 * `--platform-world` produces the world a platform with `COELHO_AUTO_TRAIN` trains its first
 * champion on (simulator/platform-world.ts), history first: a cluster's demo traffic (the chart's
 * simulator Deployment) then reaches shards whose card states saw the past the champion learnt.
 */
import { parseArgs } from "node:util";
import { isoTimeOption, numberOption, parseOrExit, UsageError } from "../cli-options.ts";
import { FRAUD_LABELS_TOPIC, FRAUD_TRANSACTIONS_TOPIC } from "./entity.ts";
import { type DriftSpec, parseDriftSpec } from "./simulator/drift.ts";
import { fraudEvents } from "./simulator/events.ts";
import {
  SIMULATED_CARDS,
  SIMULATED_HISTORY_DAYS,
  SIMULATED_SEED,
  simulatedWorld,
} from "./simulator/platform-world.ts";
import {
  cardsFor,
  type FraudSimulatorOptions,
  speedFor,
  startFraudSimulator,
} from "./simulator/producer.ts";
import { findResumePoint } from "./simulator/resume.ts";

/** Options that would make another world than the platform's: refused with --platform-world. */
const WORLD_OPTIONS = ["seed", "cards", "speed", "start", "fraud-rate", "out", "original-format"];

const USAGE = `usage: bun run simulate -- fraud [options]
  --rate N               transactions per second into the log (default 200)
  --count N              stop after N transactions (required with --out FILE; a history
                         written first does not count)
  --platform-world       the world the platform trains its first champion on (COELHO_AUTO_TRAIN):
                         seed ${SIMULATED_SEED}, ${SIMULATED_CARDS} cards at the speed --rate gives them, and into a
                         log without transactions its last ${SIMULATED_HISTORY_DAYS} days first, as fast as the log
                         takes them (the chart's simulator runs this); its history ends now,
                         or at COELHO_SIMULATE_FROM as the platform's does
  --seed S               random seed (default 1)
  --fraud-rate R         share of fraudulent transactions (default 0.01)
  --speed X              event time per wall time (default 1440: a day per minute)
  --cards N              cardholders (default: derived from --rate and --speed)
  --start ISO            event time of the first transaction (default: now; into a log that
                         holds transactions already, just after the last of them)
  --label-delay-scale F  multiply label delays (default 1)
  --inline-labels        add is_fraud to every transaction, as the original does
  --original-format      the original producer: unkeyed, a new user per event, inline is_fraud
  --drift S@T            switch a drift scenario on at event time T (repeatable): covariate,
                         concept or prior @ ISO time or +N[m|h|d] after the start
  --out FILE|-           write JSON lines to FILE (or stdout) instead of the log
  --transactions-topic T (default ${FRAUD_TRANSACTIONS_TOPIC})
  --labels-topic T       (default ${FRAUD_LABELS_TOPIC})`;

function parse(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      rate: { type: "string" },
      count: { type: "string" },
      seed: { type: "string" },
      "fraud-rate": { type: "string" },
      speed: { type: "string" },
      cards: { type: "string" },
      start: { type: "string" },
      "label-delay-scale": { type: "string" },
      "inline-labels": { type: "boolean" },
      "platform-world": { type: "boolean" },
      "original-format": { type: "boolean" },
      out: { type: "string" },
      drift: { type: "string", multiple: true },
      "transactions-topic": { type: "string" },
      "labels-topic": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) throw new UsageError("");
  if (positionals[0] !== "fraud" || positionals.length !== 1) {
    throw new UsageError(`use case: "${positionals.join(" ")}" is not available; expected "fraud"`);
  }
  const platformWorld = values["platform-world"] ?? false;
  if (platformWorld) {
    const conflicting = WORLD_OPTIONS.filter(
      (name) => values[name as keyof typeof values] !== undefined,
    );
    if (conflicting.length > 0) {
      throw new UsageError(
        `--platform-world: ${conflicting.map((name) => `--${name}`).join(", ")} would make another world than the one the platform trains on; expected none of them`,
      );
    }
  }
  const startMs = isoTimeOption(values.start, "start");
  const count = numberOption(values.count, "count", 1, 1e10, true);
  // Relative drift times count from the first event: the fixed start of --out, else now.
  const driftStartMs = startMs ?? (values.out !== undefined ? Date.UTC(2025, 0, 1) : Date.now());
  let drift: DriftSpec[];
  try {
    drift = (values.drift ?? []).map((spec) => parseDriftSpec(spec, driftStartMs));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.out !== undefined && values.out !== "-" && count === undefined) {
    throw new UsageError("--out FILE: expected --count N too, so the file is bounded");
  }
  return {
    /** As given: relative times are resolved again when the world resumes (produceToLog). */
    driftSpecs: values.drift ?? [],
    platformWorld,
    rate: numberOption(values.rate, "rate", 0.1, 1_000_000) ?? 200,
    count,
    out: values.out,
    transactionsTopic: values["transactions-topic"] ?? FRAUD_TRANSACTIONS_TOPIC,
    labelsTopic: values["labels-topic"] ?? FRAUD_LABELS_TOPIC,
    simulation: {
      seed: numberOption(values.seed, "seed", 0, 2 ** 32 - 1, true) ?? 1,
      fraudRate: numberOption(values["fraud-rate"], "fraud-rate", 0, 0.49),
      speed: numberOption(values.speed, "speed", 0.001, 1e7),
      cards: numberOption(values.cards, "cards", 1, 200_000, true),
      startMs,
      labelDelays: {
        scale: numberOption(values["label-delay-scale"], "label-delay-scale", 0, 1000) ?? 1,
      },
      inlineLabels: values["inline-labels"] ?? false,
      drift,
      originalFormat: values["original-format"] ?? false,
    },
  };
}

type Parsed = ReturnType<typeof parse>;

async function writeJsonLines(options: Parsed): Promise<void> {
  const decoder = new TextDecoder();
  const sink = options.out === "-" ? Bun.stdout.writer() : Bun.file(options.out ?? "").writer();
  const { cards, speed, ...simulation } = options.simulation;
  let lines = 0;
  for (const item of fraudEvents({
    ...simulation,
    // The same world as the log mode's for the same options; only the start time is fixed here.
    cards: cards ?? cardsFor(options.rate, speed ?? 1440),
    count: options.count,
    startMs: simulation.startMs ?? Date.UTC(2025, 0, 1),
  })) {
    const topic = item.kind === "label" ? options.labelsTopic : options.transactionsTopic;
    const key = item.record.key ? JSON.stringify(decoder.decode(item.record.key)) : "null";
    sink.write(
      `{"topic":${JSON.stringify(topic)},"key":${key},"timestampMs":${item.record.timestampMs},"value":${decoder.decode(item.record.value)}}\n`,
    );
    // Flush in chunks: bounded memory whatever the count.
    if (++lines % 10_000 === 0) await sink.flush();
  }
  await sink.end();
  if (options.out !== "-") console.error(`wrote ${lines} records to ${options.out}`);
}

async function produceToLog(options: Parsed): Promise<void> {
  const { loadConfig } = await import("../../runtime/config.ts");
  const { openLog } = await import("../../actors/platform.ts");
  const config = loadConfig();
  const log = await openLog(config);
  let produced = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  // A world the log already holds goes on after its last transaction (simulator/resume.ts):
  // relative drift times count from there.
  const resumeAt =
    options.simulation.startMs === undefined
      ? await findResumePoint(log, options.transactionsTopic)
      : null;
  const drift = resumeAt
    ? options.driftSpecs.map((spec) => parseDriftSpec(spec, resumeAt.lastEventMs + 1))
    : options.simulation.drift;
  // The platform's world, its history ending now (or at COELHO_SIMULATE_FROM, as the platform's
  // does): what a platform starting now trains on.
  const world = options.platformWorld
    ? simulatedWorld(SIMULATED_SEED, config.simulateFromMs ?? Date.now())
    : null;
  const simulatorOptions: FraudSimulatorOptions = {
    ...options.simulation,
    ...(world && {
      seed: world.seed,
      cards: world.cards,
      speed: speedFor(options.rate, world.cards),
      history: { startMs: world.historyStartMs, untilMs: world.historyEndMs },
      onHistoryWritten: (transactions: number) =>
        console.error(
          `wrote the world's history: ${transactions} transactions from ${new Date(world.historyStartMs).toISOString()}; going on at the rate`,
        ),
    }),
    drift,
    resumeAt,
    log,
    transactionsTopic: options.transactionsTopic,
    labelsTopic: options.labelsTopic,
    ratePerSecond: options.rate,
    partitions: config.partitions,
    count: options.count,
    onProgress: (n) => {
      produced = n;
    },
    onCountReached: finish,
    onError: (error) => console.error(`simulator: ${String(error)}`),
    appendHooks: {
      onRefused: (error, held) =>
        console.error(
          `the log refuses appends (${String(error)}); holding ${held} records and trying again`,
        ),
      onRecovered: (attempts, heldMs) =>
        console.error(
          `the log takes appends again after ${attempts} refusals over ${(heldMs / 1000).toFixed(1)} s; nothing dropped`,
        ),
    },
    onResume: ({ lastEventMs }) =>
      console.error(
        `the log holds this world already: going on after its last transaction (${new Date(lastEventMs).toISOString()})`,
      ),
    onPendingLabels: (labels) =>
      console.error(`${labels} labels the last run still owed are scheduled again`),
  };
  const stop = startFraudSimulator(simulatorOptions);
  const where = log.kind === "kafka" ? "Kafka" : `the embedded log in ${config.dataDir}`;
  console.error(
    `producing to ${where}: ${options.transactionsTopic} and ${options.labelsTopic} at ${options.rate}/s`,
  );
  const progress = setInterval(() => console.error(`${produced} transactions`), 5000);
  process.once("SIGINT", finish);
  process.once("SIGTERM", finish);
  await finished;
  clearInterval(progress);
  await stop();
  await log.close();
  console.error(`done: ${produced} transactions`);
}

async function main(): Promise<void> {
  const options = parseOrExit(USAGE, parse);
  if (options.out !== undefined) await writeJsonLines(options);
  else await produceToLog(options);
}

await main();
