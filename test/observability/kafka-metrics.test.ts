/**
 * The streaming metrics on Kafka (the end-to-end test runs on the embedded log): the platform,
 * consuming a topic of the real broker with bad events in it, exports per partition lag that
 * falls to 0 once the backlog is read, the group's rebalances, events in, dead letters by reason,
 * and events out per topic (the dead-letter topic it appended to) with its produce-error series.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KafkaLog } from "../../runtime/log/kafka/index.ts";
import { writeCounterEvents } from "../support/counter-workload.ts";
import { openTestKafkaLog, uniqueName } from "../support/kafka-broker.ts";
import { type PlatformProcess, startPlatform, waitFor } from "../support/platform-process.ts";

// Hooks start servers, processes or big fixtures: bunfig's timeout covers tests, not hooks (5 s).
setDefaultTimeout(120_000);

const PARTITIONS = 3;
const EVENTS = 20_000;

/** Samples of `text` (Prometheus exposition format) named `name`, as label maps with a value. */
function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split("\n")) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (match[2] ?? "").matchAll(/(\w+)="([^"]*)"/g))
      labels[k as string] = v as string;
    out.push({ labels, value: Number(match[3]) });
  }
  return out;
}

let brokers = "";
let log: KafkaLog;
let platform: PlatformProcess | null = null;
const dataDir = mkdtempSync(join(tmpdir(), "coelho-obs-kafka-"));

beforeAll(async () => {
  ({ brokers, log } = await openTestKafkaLog("obs"));
});

afterAll(async () => {
  if (platform && platform.proc.exitCode === null) {
    platform.proc.kill("SIGTERM");
    await Promise.race([platform.proc.exited, Bun.sleep(20_000)]);
    if (platform.proc.exitCode === null) platform.proc.kill("SIGKILL");
  }
  await log?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("streaming metrics on Kafka", () => {
  test("lag per partition, rebalances, events in and out, dead letters by reason", async () => {
    const appId = uniqueName("obs");
    const topic = `${appId}.events`;
    await log.ensureTopic({ name: topic, partitions: PARTITIONS });
    const expected = await writeCounterEvents(log, topic, {
      events: EVENTS,
      keys: 2_000,
      seed: 3,
      badEvery: 1_000,
    });
    platform = startPlatform({
      COELHO_KAFKA_BROKERS: brokers,
      COELHO_APP_ID: appId,
      COELHO_INSTANCE_ID: "solo",
      COELHO_DATA_DIR: dataDir,
      COELHO_PARTITIONS: String(PARTITIONS),
      COELHO_INPUT_TOPICS: `counter:${topic}`,
      COELHO_HTTP_HOST: "127.0.0.1",
      COELHO_KAFKA_SESSION_TIMEOUT_MS: "6000",
    });
    const running = platform;
    const metrics = async () => (await fetch(`http://127.0.0.1:${running.port}/metrics`)).text();
    // Done when every event was read and every partition's lag is back to 0.
    const text = await waitFor("the backlog read, lag 0 on every partition", 120_000, async () => {
      if (running.proc.exitCode !== null) {
        throw new Error(
          `platform exited ${running.proc.exitCode}:\n${running.stderr().slice(-3000)}`,
        );
      }
      const body = await metrics();
      const read = samples(body, "coelho_events_in_total").find((s) => s.labels.topic === topic);
      const lags = samples(body, "coelho_consumer_lag_records").filter(
        (s) => s.labels.topic === topic,
      );
      const done =
        read?.value === EVENTS && lags.length === PARTITIONS && lags.every((s) => s.value === 0);
      return done ? body : undefined;
    });
    const lagPartitions = samples(text, "coelho_consumer_lag_records")
      .filter((s) => s.labels.topic === topic)
      .map((s) => s.labels.partition)
      .sort();
    expect(lagPartitions).toEqual(["0", "1", "2"]);
    const rebalances = samples(text, "coelho_consumer_rebalances_total").find(
      (s) => s.labels.group === `${appId}-counter`,
    );
    expect(rebalances?.value).toBeGreaterThanOrEqual(1);
    const dlq = samples(text, "coelho_dlq_events_total").filter((s) => s.labels.topic === topic);
    expect(dlq.map((s) => s.labels.reason)).toEqual(["validation"]);
    expect(dlq[0]?.value).toBe(expected.bad);
    const out = samples(text, "coelho_events_out_total").find(
      (s) => s.labels.topic === `${topic}.dlq`,
    );
    expect(out?.value).toBeGreaterThanOrEqual(expected.bad); // at least once
    const errors = samples(text, "coelho_produce_errors_total").find(
      (s) => s.labels.topic === `${topic}.dlq`,
    );
    expect(errors?.value).toBe(0);
  }, 180_000);
});
