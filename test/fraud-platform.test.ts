/**
 * The fraud use case inside the real platform (embedded log): keyed simulator events and the
 * original producers' unkeyed events (a new user_id each) are scored by the registered champion,
 * and events that fail validation go to the dead-letter topics with the field named. Labels (the
 * original format's inline is_fraud, and the delayed ones on `fraud.labels`, keyed by card, read
 * by the shard holding the prediction) are joined to the stored predictions: training examples on
 * `fraud.examples` with the score given before the label, and the online quality gauges. A label
 * that reaches its shard before its transaction waits for it.
 */
import { expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { FRAUD_LABELS_TOPIC, FRAUD_TRANSACTIONS_TOPIC } from "../models/fraud/entity.ts";
import type { FraudExample, FraudScore } from "../models/fraud/serving.ts";
import { fraudEvents } from "../models/fraud/simulator/events.ts";
import { openEmbeddedLog } from "../runtime/log/embedded/index.ts";
import type { Log, LogRecord } from "../runtime/log/log.ts";
import { transactionsAndLabels } from "./support/labelled-fraud.ts";
import { cleanEnv, freePort, startPlatform, waitFor } from "./support/platform-process.ts";
import { tempDirs } from "./support/temp-dirs.ts";
import { trainFraudChampion } from "./support/train-champion.ts";

setDefaultTimeout(240_000);
const ORIGINAL_TOPIC = "transaction_fraud_detection";
const ROOT = join(import.meta.dir, "..");
const PARTITIONS = 3;
const temp = tempDirs();
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function badEvent(kind: "missing amount" | "negative amount" | "bad timestamp", i: number) {
  const event: Record<string, unknown> = {
    transaction_id: `bad-${kind.replace(" ", "-")}-${i}`,
    user_id: `u-bad-${i}`,
    timestamp: "2025-03-01T10:00:00Z",
    amount: 12.5,
    currency: "USD",
    merchant_id: "merchant_3",
    product_category: "groceries",
    transaction_type: "purchase",
    payment_method: "credit_card",
    location: { lat: 40.7, lon: -74 },
    ip_address: "10.0.0.1",
    device_info: { os: "iOS", browser: "Safari" },
    user_agent: "Mozilla/5.0",
    account_age_days: 100,
    cvv_provided: true,
    billing_address_match: true,
  };
  if (kind === "missing amount") delete event.amount;
  if (kind === "negative amount") event.amount = -3;
  if (kind === "bad timestamp") event.timestamp = "yesterday at noon";
  return encoder.encode(JSON.stringify(event));
}

/** A champion, trained and registered the way a user does it (small, to keep the test short). */
async function trainChampion(dataDir: string): Promise<void> {
  const { code, stdout } = await trainFraudChampion(dataDir, { days: 30, cards: 800, seed: 3 });
  expect(code).toBe(0);
  expect(stdout).toContain("as champion");
}

async function readAll<T>(log: Log, topic: string): Promise<{ partition: number; value: T }[]> {
  const out: { partition: number; value: T }[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    for (const r of await log.read(topic, p, 0, 100_000)) {
      out.push({ partition: p, value: JSON.parse(decoder.decode(r.value)) as T });
    }
  }
  return out;
}

type LabelsOrder = "transactions first" | "labels first";

/**
 * A platform process (as actors/main.ts, the HTTP server included) that writes the simulator's
 * transactions, waits until the champion scored them all, then writes their labels; or, labels
 * first, writes the labels, waits until the shards read them all, then writes the transactions.
 * Not in the test process: Elysia's TypeBox formats would leak into other test files.
 */
function labelsRunScript(transactionsTopic: string, labelsTopic: string, order: LabelsOrder) {
  const at = (path: string) => JSON.stringify(join(ROOT, path));
  return `
import { buildPlatform } from ${at("actors/platform.ts")};
import { fraudEvents } from ${at("models/fraud/simulator/events.ts")};
import { useCases } from ${at("models/index.ts")};
import { loadConfig } from ${at("runtime/config.ts")};
import { setLogLevel } from ${at("runtime/logger.ts")};
import { inferenceRows } from ${at("runtime/metrics.ts")};

setLogLevel("warn");
const config = loadConfig();
const platform = await buildPlatform(config, useCases(config));
process.on("SIGTERM", async () => {
  await platform.root.stop(config.shutdownMs);
  await platform.log.close();
  process.exit(0);
});
await platform.root.start();
while ((await platform.notReadyReasons()).length > 0) await Bun.sleep(50);
const transactions = [];
const labels = [];
const options = { seed: Number(process.env.TEST_SEED), count: Number(process.env.TEST_COUNT) };
for (const item of fraudEvents({ ...options, drainLabels: true })) {
  (item.kind === "label" ? labels : transactions).push(item.record);
}
const scored = async () =>
  (await inferenceRows.get()).values
    .filter((v) => v.labels.role === "champion")
    .reduce((n, v) => n + v.value, 0);
const labelsRead = async () =>
  (await platform.shardStatuses())
    .flatMap((s) => s.inputs)
    .filter((i) => i.topic === ${JSON.stringify(labelsTopic)})
    .reduce((n, i) => n + i.nextOffset, 0);
if (${JSON.stringify(order)} === "labels first") {
  await platform.log.produce(${JSON.stringify(labelsTopic)}, labels);
  while ((await labelsRead()) < labels.length) await Bun.sleep(50);
  await platform.log.produce(${JSON.stringify(transactionsTopic)}, transactions);
} else {
  await platform.log.produce(${JSON.stringify(transactionsTopic)}, transactions);
  while ((await scored()) < transactions.length) await Bun.sleep(50);
  await platform.log.produce(${JSON.stringify(labelsTopic)}, labels);
}
`;
}

test("keyed and original-format events are scored by the champion; invalid ones go to the DLQ", async () => {
  const dataDir = temp.make("coelho-fraud-");
  await trainChampion(dataDir);

  const log = await openEmbeddedLog({ dir: join(dataDir, "log"), fsync: "never" });
  await log.ensureTopic({ name: FRAUD_TRANSACTIONS_TOPIC, partitions: PARTITIONS });
  await log.ensureTopic({ name: ORIGINAL_TOPIC, partitions: PARTITIONS });
  const goodIds = new Set<string>();
  const keyed: LogRecord[] = [];
  for (const item of fraudEvents({ seed: 9, count: 2000 })) {
    if (item.kind !== "transaction") continue;
    keyed.push(item.record);
    goodIds.add(item.event.transaction_id);
  }
  const original: LogRecord[] = [];
  const originalIds = new Set<string>();
  for (const item of fraudEvents({ seed: 10, count: 600, originalFormat: true })) {
    if (item.kind !== "transaction") continue;
    expect(item.record.key).toBeNull();
    original.push(item.record);
    goodIds.add(item.event.transaction_id);
    originalIds.add(item.event.transaction_id);
  }
  const kinds = ["missing amount", "negative amount", "bad timestamp"] as const;
  const bad: LogRecord[] = kinds.flatMap((kind, i) => [
    { key: null, value: badEvent(kind, i) },
    { key: encoder.encode(`card-bad-${i}`), value: badEvent(kind, i + 10) },
  ]);
  await log.produce(FRAUD_TRANSACTIONS_TOPIC, keyed);
  await log.produce(ORIGINAL_TOPIC, [...original, ...bad.slice(0, 3)]);
  await log.produce(FRAUD_TRANSACTIONS_TOPIC, bad.slice(3));
  await log.close();

  const run = startPlatform({
    COELHO_DATA_DIR: dataDir,
    COELHO_USECASES: "fraud",
    COELHO_AUTO_TRAIN: "false",
    COELHO_PARTITIONS: String(PARTITIONS),
    COELHO_UNKEYED_TOPICS: `fraud:${ORIGINAL_TOPIC}`,
  });
  try {
    await waitFor("the champion serving", 60_000, async () => {
      const { body } = await run.get<{ status: string }>("/health/ready");
      return body.status === "ready" ? true : undefined;
    });
    // Every good event scored once the rows counter stops below the total no more.
    await waitFor("every good event scored", 120_000, async () => {
      const metrics = await (await fetch(`http://127.0.0.1:${run.port}/metrics`)).text();
      const rows = [
        ...metrics.matchAll(/^coelho_inference_rows_total\{[^}]*role="champion"[^}]*\} (\d+)/gm),
      ].reduce((n, m) => n + Number(m[1]), 0);
      return rows >= goodIds.size ? true : undefined;
    });
  } finally {
    run.proc.kill("SIGTERM");
  }
  expect(await run.proc.exited).toBe(0);

  const reopened = await openEmbeddedLog({ dir: join(dataDir, "log"), fsync: "never" });
  const examples = await readAll<FraudExample>(reopened, "fraud.examples");
  const scored = new Map<string, FraudScore>();
  const dlqReasons: string[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    for (const r of await reopened.read("fraud.scores", p, 0, 100_000)) {
      const score = JSON.parse(decoder.decode(r.value)) as FraudScore;
      scored.set(score.transaction_id, score);
    }
    for (const topic of [`${ORIGINAL_TOPIC}.dlq`, `${FRAUD_TRANSACTIONS_TOPIC}.dlq`]) {
      for (const r of await reopened.read(topic, p, 0, 1000))
        dlqReasons.push(r.headers["coelho.dlq.reason"] ?? "");
    }
  }
  await reopened.close();

  // Every good event, of both formats, has a score from the champion with a decision.
  expect([...goodIds].filter((id) => !scored.has(id))).toEqual([]);
  expect([...originalIds].every((id) => scored.get(id)?.model_version === 1)).toBe(true);
  for (const score of scored.values()) {
    expect(score.score).toBeGreaterThanOrEqual(0);
    expect(score.score).toBeLessThanOrEqual(1);
    expect(score.decision).toBe(score.score >= score.threshold ? "flag" : "pass");
  }
  expect(scored.size).toBe(goodIds.size);
  // The bad ones are in the dead-letter topics, the field named in the reason.
  expect(dlqReasons).toHaveLength(6);
  expect(dlqReasons.filter((r) => r.startsWith("amount:"))).toHaveLength(4);
  expect(dlqReasons.filter((r) => r.startsWith("timestamp:"))).toHaveLength(2);
  // The original format's inline is_fraud is a label applied right after its event was scored:
  // one example each, with the event's is_fraud and the score written to fraud.scores.
  const isFraud = new Map(
    original.map((r) => {
      const event = JSON.parse(decoder.decode(r.value)) as {
        transaction_id: string;
        is_fraud: 0 | 1;
      };
      return [event.transaction_id, event.is_fraud] as const;
    }),
  );
  expect(examples.map((e) => e.value.transaction_id).sort()).toEqual([...originalIds].sort());
  for (const { value: example } of examples) {
    expect(example.label_kind).toBe("inline");
    expect(example.label).toBe(isFraud.get(example.transaction_id) as 0 | 1);
    expect(example.score).toBe(scored.get(example.transaction_id)?.score as number);
    expect(example.model_version).toBe(1);
  }
});

test("delayed labels reach the card's shard and become examples with the score given before them; online quality in /metrics", async () => {
  await labelsRun("transactions first");
});

test("labels read before their transactions wait for them: every one still becomes an example", async () => {
  await labelsRun("labels first");
});

async function labelsRun(order: LabelsOrder): Promise<void> {
  const dataDir = temp.make("coelho-fraud-labels-");
  await trainChampion(dataDir);
  const seed = 11;
  const count = 3000;
  const { labels, labelOf } = transactionsAndLabels({ seed, count });
  expect(labels.length).toBeGreaterThan(1000);
  expect([...labelOf.values()]).toContain(1);

  // The order must be exact, and the embedded log is one process's: so a small script runs the
  // platform and writes both, in that order.
  const script = join(dataDir, "run-with-labels.ts");
  await Bun.write(script, labelsRunScript(FRAUD_TRANSACTIONS_TOPIC, FRAUD_LABELS_TOPIC, order));
  const port = freePort();
  const proc = Bun.spawn(["bun", script], {
    cwd: ROOT,
    env: {
      ...cleanEnv(),
      COELHO_DATA_DIR: dataDir,
      COELHO_HTTP_PORT: String(port),
      COELHO_HTTP_HOST: "127.0.0.1",
      COELHO_USECASES: "fraud",
      COELHO_AUTO_TRAIN: "false",
      COELHO_SIMULATE: "false",
      COELHO_PARTITIONS: String(PARTITIONS),
      TEST_SEED: String(seed),
      TEST_COUNT: String(count),
    },
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  const metrics = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const sum = (text: string, pattern: RegExp) =>
    [...text.matchAll(pattern)].reduce((n, m) => n + Number(m[1]), 0);
  let gauges: (readonly [string, number])[];
  try {
    await waitFor("every label joined or counted", 120_000, async () => {
      const seen = sum(await metrics(), /^coelho_labels_total\{usecase="fraud"[^}]*\} (\d+)/gm);
      return seen >= labels.length ? true : undefined;
    });
    gauges = await waitFor("the quality gauges, over every label", 30_000, async () => {
      const text = await metrics();
      const inWindow = sum(
        text,
        /^coelho_model_quality_window_labels\{usecase="fraud"[^}]*\} (\d+)/gm,
      );
      const matched = sum(
        text,
        /^coelho_labels_total\{usecase="fraud",outcome="matched"\} (\d+)/gm,
      );
      if (matched === 0 || inWindow < matched) return undefined;
      return [
        ...text.matchAll(
          /^coelho_model_quality\{usecase="fraud",model_version="1",metric="(\w+)"\} (\S+)/gm,
        ),
      ].map((m) => [m[1] as string, Number(m[2])] as const);
    });
  } finally {
    proc.kill("SIGTERM");
  }
  const code = await proc.exited;
  if (code !== 0) console.error(await new Response(proc.stderr).text());
  expect(code).toBe(0);
  const reopened = await openEmbeddedLog({ dir: join(dataDir, "log"), fsync: "never" });
  const examples = await readAll<FraudExample>(reopened, "fraud.examples");
  const scores = await readAll<FraudScore>(reopened, "fraud.scores");
  await reopened.close();

  // Quality gauges: all five, in [0, 1].
  expect(gauges.map(([metric]) => metric).sort()).toEqual([
    "f2",
    "pr_auc",
    "precision",
    "recall",
    "roc_auc",
  ]);
  for (const [, value] of gauges) {
    expect(value).toBeGreaterThanOrEqual(0);
    expect(value).toBeLessThanOrEqual(1);
  }
  // One example per labelled, scored transaction, in the partition its score went to, with the
  // label event's is_fraud and the very score written to fraud.scores before the label arrived.
  const scoreOf = new Map(scores.map((s) => [s.value.transaction_id, s] as const));
  const labelledAndScored = [...labelOf.keys()].filter((id) => scoreOf.has(id));
  expect(labelledAndScored).toHaveLength(labelOf.size);
  expect(examples).toHaveLength(labelledAndScored.length);
  expect(new Set(examples.map((e) => e.value.transaction_id)).size).toBe(examples.length);
  const featureCount = examples[0]?.value.features.length ?? 0;
  expect(featureCount).toBeGreaterThan(10);
  for (const { partition, value: example } of examples) {
    const score = scoreOf.get(example.transaction_id);
    expect(score).toBeDefined();
    if (!score) continue;
    expect(partition).toBe(score.partition);
    expect(example.label).toBe(labelOf.get(example.transaction_id) as 0 | 1);
    expect(example.score).toBe(score.value.score);
    expect(example.model_version).toBe(score.value.model_version);
    expect(example.card_id).toBe(score.value.card_id);
    expect(example.features).toHaveLength(featureCount);
    expect(["chargeback", "confirmed"]).toContain(example.label_kind);
    expect(Date.parse(example.label_time)).toBeGreaterThanOrEqual(Date.parse(example.event_time));
  }
}
