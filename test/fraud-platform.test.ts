/**
 * The fraud use case inside the real platform (embedded log): keyed simulator events and the
 * original producers' unkeyed events (a new user_id each) are scored by the registered champion,
 * and events that fail validation go to the dead-letter topics with the field named.
 */
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FRAUD_TRANSACTIONS_TOPIC } from "../models/fraud/entity.ts";
import type { FraudScore } from "../models/fraud/serving.ts";
import { fraudEvents } from "../models/fraud/simulator/events.ts";
import { openEmbeddedLog } from "../runtime/log/embedded/index.ts";
import type { LogRecord } from "../runtime/log/log.ts";
import { startPlatform, waitFor } from "./support/platform-process.ts";

setDefaultTimeout(240_000);
const ORIGINAL_TOPIC = "transaction_fraud_detection";
const PARTITIONS = 3;
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
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

test("keyed and original-format events are scored by the champion; invalid ones go to the DLQ", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "coelho-fraud-"));
  dirs.push(dataDir);
  // A champion, trained and registered the way a user does it (small, to keep the test short).
  const train = Bun.spawn(
    [
      "bun",
      "models/train-cli.ts",
      "fraud",
      "--data-dir",
      dataDir,
      "--days",
      "30",
      "--cards",
      "800",
      "--seed",
      "3",
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  const trainOut = await new Response(train.stdout).text();
  expect(await train.exited).toBe(0);
  expect(trainOut).toContain("as champion");

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
});
