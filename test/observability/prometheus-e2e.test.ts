/**
 * End to end: the real platform (counter and fraud, simulators on) scraped every second by a real
 * Prometheus (Debian's package) that evaluates our rule files; then every dashboard panel's query
 * and every rule's expression goes through Prometheus's HTTP API. Each must parse, each panel
 * must return data (a panel on a metric the platform does not export fails), and each rule must
 * evaluate without error. Also: /metrics stays bounded (series count, no entity id in a label)
 * and the platform's logs are JSON lines.
 *
 * The platform runs twice on one data directory: first to train the initial champion (a fresh
 * start trains one), then, after the test has seeded its embedded log with a history of
 * transactions carrying inline labels (so online quality, outcomes and examples exist at once)
 * and a few malformed counter events (dead letters), with live simulated traffic on top.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fraudEvents } from "../../models/fraud/simulator/events.ts";
import { dashboards as dashboardSpecs } from "../../observability/grafana/dashboards.ts";
import { openEmbeddedLog } from "../../runtime/log/embedded/index.ts";
import type { LogRecord } from "../../runtime/log/log.ts";
import { type PlatformProcess, startPlatform, waitFor } from "../support/platform-process.ts";
import { type PrometheusServer, startPrometheus } from "./prometheus-server.ts";
import { ensurePrometheus, loadDashboards, loadRules, ruleFiles } from "./support.ts";

// Hooks start servers, processes or big fixtures: bunfig's timeout covers tests, not hooks (5 s).
setDefaultTimeout(120_000);

/** This workstream's test ports (see the brief's port ranges). */
const PORT_MIN = 19_500;
const PORT_MAX = 19_549;
const JOB = "coelho-realtime";
const PARTITIONS = 3;
/** The bound on the series /metrics exports with all use cases running. */
const SERIES_MAX = 2_000;
/** Grafana's variables, as the e2e queries use them (1 s scrapes: a 15 s rate window is ample). */
const VARIABLES: Record<string, string> = {
  $__rate_interval: "15s",
  $__range: "5m",
  $__interval: "5s",
  $usecase: ".*",
};
const LIFECYCLE_DASHBOARD = "coelho-model-lifecycle";
/** The lifecycle metrics (models/lifecycle-metrics.ts) the lifecycle dashboard is built on. */
const LIFECYCLE_METRICS = [
  "coelho_drift_score",
  "coelho_drift_state",
  "coelho_drift_events_total",
  "coelho_training_runs_total",
  "coelho_training_duration_seconds",
  "coelho_rollout_state",
  "coelho_model_version_info",
];

function freePortInRange(taken: Set<number>): number {
  for (let port = PORT_MIN; port <= PORT_MAX; port++) {
    if (taken.has(port)) continue;
    try {
      const server = Bun.serve({ port, hostname: "127.0.0.1", fetch: () => new Response("") });
      server.stop(true);
      taken.add(port);
      return port;
    } catch {
      // in use: next
    }
  }
  throw new Error(`no free port in ${PORT_MIN}-${PORT_MAX} on 127.0.0.1`);
}

function substitute(expr: string): string {
  let out = expr;
  for (const [name, value] of Object.entries(VARIABLES)) out = out.split(name).join(value);
  return out;
}

async function metricsText(platform: PlatformProcess): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${platform.port}/metrics`);
  return response.text();
}

async function stopPlatform(platform: PlatformProcess | null): Promise<void> {
  if (!platform || platform.proc.exitCode !== null) return;
  platform.proc.kill("SIGTERM");
  const exited = await Promise.race([platform.proc.exited, Bun.sleep(20_000).then(() => null)]);
  if (exited === null) {
    platform.proc.kill("SIGKILL");
    await platform.proc.exited;
  }
}

// ---- set-up (top level, so that what is exported decides which checks apply) ------------------

const dataDir = mkdtempSync(join(tmpdir(), "coelho-obs-e2e-"));
const ports = new Set<number>();
let platform: PlatformProcess | null = null;
let prometheus: PrometheusServer | null = null;
const stderrLog: string[] = [];

afterAll(async () => {
  await prometheus?.stop();
  await stopPlatform(platform);
  rmSync(dataDir, { recursive: true, force: true });
});

const { prometheus: prometheusBinary } = ensurePrometheus();
const httpPort = freePortInRange(ports);
const env = {
  COELHO_HTTP_PORT: String(httpPort),
  COELHO_HTTP_HOST: "127.0.0.1",
  COELHO_DATA_DIR: dataDir,
  COELHO_USECASES: "counter,fraud",
  COELHO_PARTITIONS: String(PARTITIONS),
  // Few entities per shard, so passivation happens while the entity count grows.
  COELHO_MAX_ENTITIES_PER_SHARD: "200",
  COELHO_LOG_LEVEL: "info",
};

// 1. A first start trains the initial champion; stop once it serves.
platform = startPlatform({ ...env, COELHO_SIMULATE: "false" });
await waitFor("the initial fraud champion", 150_000, () => {
  if (platform?.proc.exitCode !== null) {
    throw new Error(
      `platform exited ${platform?.proc.exitCode}:\n${platform?.stderr().slice(-3000)}`,
    );
  }
  return platform.stderr().includes("serving a new champion") ? true : undefined;
}).catch((error) => {
  throw new Error(`${error}\n${platform?.stderr().slice(-3000)}`);
});
stderrLog.push(platform.stderr());
await stopPlatform(platform);

// 2. Seed the log: scored-and-labelled history for fraud, and malformed counter events.
{
  const log = await openEmbeddedLog({ dir: join(dataDir, "log"), fsync: "never" });
  try {
    await log.ensureTopic({ name: "counter.events", partitions: PARTITIONS });
    await log.ensureTopic({ name: "fraud.transactions", partitions: PARTITIONS });
    const encoder = new TextEncoder();
    const bad: LogRecord[] = Array.from({ length: 30 }, (_, i) => ({
      key: encoder.encode(`bad-${i}`),
      value: encoder.encode(i % 2 === 0 ? "not json" : JSON.stringify({ key: `bad-${i}` })),
    }));
    await log.produce("counter.events", bad);
    const history: LogRecord[] = [];
    for (const item of fraudEvents({
      seed: 17,
      count: 4_000,
      fraudRate: 0.05,
      inlineLabels: true,
      labels: false,
      startMs: Date.now() - 2 * 86_400_000,
    })) {
      if (item.kind === "transaction") history.push(item.record);
    }
    await log.produce("fraud.transactions", history);
  } finally {
    await log.close();
  }
}

// 3. The platform again, with live traffic, and Prometheus scraping it.
platform = startPlatform({ ...env, COELHO_SIMULATE: "true", COELHO_SIMULATE_RATE: "100" });
await waitFor("scores, labelled outcomes and dead letters in /metrics", 120_000, async () => {
  if (platform?.proc.exitCode !== null) {
    throw new Error(
      `platform exited ${platform?.proc.exitCode}:\n${platform?.stderr().slice(-3000)}`,
    );
  }
  const text = await metricsText(platform);
  const ready = [
    "coelho_model_decisions_total{",
    'coelho_model_quality{usecase="fraud"',
    "coelho_dlq_events_total{",
    "coelho_label_delay_seconds_bucket{",
  ].every((s) => text.includes(s));
  return ready ? true : undefined;
}).catch((error) => {
  throw new Error(`${error}\n${platform?.stderr().slice(-3000)}`);
});

prometheus = await startPrometheus({
  binary: prometheusBinary,
  port: freePortInRange(ports),
  job: JOB,
  targets: [`127.0.0.1:${httpPort}`],
  ruleFiles: ruleFiles(),
});
const server = prometheus;
// Rates need two samples in their window, and the SLO rules a few evaluations.
await waitFor("20 scrapes of the platform", 60_000, async () => {
  const data = await server.api<{ result: { value: [number, string] }[] }>("/api/v1/query", {
    query: `count_over_time(up{job="${JOB}"}[1m])`,
  });
  return Number(data.result[0]?.value[1] ?? 0) >= 20 ? true : undefined;
});

// ---- the checks --------------------------------------------------------------------------------

interface QueryResult {
  resultType: string;
  result: unknown[];
}

/** Runs `expr` now; null when it returns data, else why not (parse error, or no data). */
async function problemOf(expr: string, needData: boolean): Promise<string | null> {
  try {
    const data = await server.api<QueryResult>("/api/v1/query", { query: expr });
    if (needData && data.result.length === 0) return "no data";
    return null;
  } catch (error) {
    return `error: ${(error as Error).message}`;
  }
}

/** Every panel query of the dashboards with `uids`, by dashboard and panel. */
function panelQueries(filter: (uid: string) => boolean) {
  return loadDashboards()
    .filter(({ json }) => filter(json.uid))
    .flatMap(({ json }) =>
      // biome-ignore lint/suspicious/noExplicitAny: Grafana's dashboard JSON.
      json.panels.flatMap((panel: any) =>
        // biome-ignore lint/suspicious/noExplicitAny: Grafana's dashboard JSON.
        panel.targets.map((target: any) => ({
          where: `${json.uid} / ${panel.title} / ${target.refId}`,
          expr: substitute(target.expr),
        })),
      ),
    );
}

/** Polls until every query returns data (new series may need a few scrapes), then reports. */
async function unanswered(queries: { where: string; expr: string }[]): Promise<string[]> {
  const deadline = Date.now() + 45_000;
  let failing: string[] = [];
  do {
    failing = [];
    for (const q of queries) {
      const problem = await problemOf(q.expr, true);
      if (problem) failing.push(`${q.where}: ${problem}\n    ${q.expr}`);
    }
    if (failing.length === 0) break;
    await Bun.sleep(2_000);
  } while (Date.now() < deadline);
  return failing;
}

describe("observability end to end (real platform, real Prometheus)", () => {
  test("every dashboard's panels return data", async () => {
    const queries = panelQueries((uid) => uid !== LIFECYCLE_DASHBOARD);
    expect(queries.length).toBeGreaterThan(40);
    expect(await unanswered(queries)).toEqual([]);
  }, 90_000);

  test("the drift and lifecycle dashboard's panels return data", async () => {
    // Their series exist from start-up at 0 (models/lifecycle-metrics.ts zeroLifecycleSeries).
    const exported = await metricsText(platform);
    const missing = LIFECYCLE_METRICS.filter(
      (name) => !new RegExp(`^${name}(_bucket)?[{ ]`, "m").test(exported),
    );
    expect(missing).toEqual([]);
    const queries = panelQueries((uid) => uid === LIFECYCLE_DASHBOARD);
    expect(queries.length).toBeGreaterThan(0);
    expect(await unanswered(queries)).toEqual([]);
  }, 90_000);

  test("a panel on a metric the platform does not export would fail the check", async () => {
    const queries = [{ where: "probe", expr: "sum(rate(coelho_never_exported_total[15s]))" }];
    expect(await problemOf(queries[0]?.expr as string, true)).toBe("no data");
    expect(await problemOf("sum(rate(coelho_actor_messages_total[15s]", false)).toStartWith(
      "error:",
    );
  });

  test("every dashboard query parses, the lifecycle one included", async () => {
    const problems: string[] = [];
    for (const q of panelQueries(() => true)) {
      const problem = await problemOf(q.expr, false);
      if (problem) problems.push(`${q.where}: ${problem}`);
    }
    expect(problems).toEqual([]);
  }, 60_000);

  test("every dashboard of the generator is a file the test read", () => {
    expect(
      loadDashboards()
        .map((d) => d.json.uid)
        .sort(),
    ).toEqual(dashboardSpecs.map((d) => d.uid).sort());
  });

  test("every rule's expression parses and every rule evaluates without error", async () => {
    const problems: string[] = [];
    for (const rule of loadRules()) {
      const problem = await problemOf(rule.expr, false);
      if (problem) problems.push(`${rule.alert ?? rule.record}: ${problem}`);
    }
    expect(problems).toEqual([]);
    const data = await server.api<{
      groups: { name: string; rules: { name: string; health: string; lastError?: string }[] }[];
    }>("/api/v1/rules");
    const loaded = data.groups.flatMap((g) => g.rules);
    expect(loaded.length).toBe(loadRules().length);
    const unhealthy = loaded
      .filter((r) => r.health !== "ok")
      .map((r) => `${r.name}: ${r.health} ${r.lastError ?? ""}`);
    expect(unhealthy).toEqual([]);
  }, 60_000);

  test("a healthy platform fires no alert", async () => {
    const data = await server.api<{
      alerts: { labels: Record<string, string>; state: string }[];
    }>("/api/v1/alerts");
    const firing = data.alerts
      .filter((a) => a.state === "firing")
      .map((a) => JSON.stringify(a.labels));
    expect(firing).toEqual([]);
  });

  test("the SLO recording rules have values for the fraud use case", async () => {
    for (const record of [
      "coelho:event_to_score_slow:ratio_rate5m",
      "coelho:scoring_errors:ratio_rate5m",
      "coelho:scoring_availability:error_budget_remaining",
    ]) {
      const data = await server.api<QueryResult>("/api/v1/query", {
        query: `${record}{usecase="fraud"}`,
      });
      expect({ record, series: data.result.length }).toEqual({ record, series: 1 });
    }
  });

  test("/metrics stays bounded: at most 2,000 series, no entity id in any label", async () => {
    const text = await metricsText(platform as PlatformProcess);
    const samples = text.split("\n").filter((line) => line !== "" && !line.startsWith("#"));
    expect(samples.length).toBeLessThanOrEqual(SERIES_MAX);
    console.log(`/metrics: ${samples.length} series, ${text.length} bytes`);
    // Entities seen so far (in memory and passivated) far outnumber the series.
    const entities = await server.api<QueryResult & { result: { value: [number, string] }[] }>(
      "/api/v1/query",
      {
        query: "sum(coelho_entities_active) + sum(coelho_entities_passivated_total or vector(0))",
      },
    );
    expect(Number(entities.result[0]?.value[1])).toBeGreaterThan(500);
    const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
    const entityLike = samples.filter((line) => uuid.test(line) || /"key-\d+"/.test(line));
    expect(entityLike).toEqual([]);
  });

  test("the platform's logs are JSON lines with a level, a time and a message", () => {
    const lines = [...stderrLog, platform?.stderr() ?? ""]
      .join("\n")
      .split("\n")
      .filter((line) => line.trim() !== "");
    expect(lines.length).toBeGreaterThan(5);
    const bad = lines.filter((line) => {
      try {
        const entry = JSON.parse(line);
        return !(
          ["debug", "info", "warn", "error", "fatal"].includes(entry.level) &&
          typeof entry.time === "string" &&
          typeof entry.msg === "string"
        );
      } catch {
        return true;
      }
    });
    expect(bad).toEqual([]);
  });
});
