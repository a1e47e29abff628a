/**
 * A real Prometheus server for the end-to-end test: Debian's binary, on 127.0.0.1, with its own
 * config and data directory in a temporary folder, scraping the given targets every second and
 * evaluating the given rule files every second. `stop()` ends it and removes the folder.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { type Subprocess, spawn } from "bun";
import { parse, stringify } from "yaml";

export interface PrometheusServer {
  url: string;
  /** GET an API path; the parsed `data` of a success, or throws with Prometheus's error. */
  api<T>(path: string, params?: Record<string, string>): Promise<T>;
  /** Everything the server logged so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  binary: string;
  port: number;
  job: string;
  targets: string[];
  ruleFiles: string[];
  /** Bound on start-up, ms (default 30 s). */
  startTimeoutMs?: number;
}

/**
 * The rule files with every group evaluated each second: the shipped 30 s interval would leave
 * a short test with few or no evaluations.
 */
function fastRuleCopies(dir: string, files: string[]): string[] {
  return files.map((file) => {
    const doc = parse(readFileSync(file, "utf8")) as { groups: { interval?: string }[] };
    for (const group of doc.groups) group.interval = "1s";
    const copy = join(dir, basename(file));
    writeFileSync(copy, stringify(doc));
    return copy;
  });
}

export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), "coelho-prometheus-"));
  const rules = fastRuleCopies(dir, options.ruleFiles);
  const config = {
    global: { scrape_interval: "1s", scrape_timeout: "1s", evaluation_interval: "1s" },
    rule_files: rules,
    scrape_configs: [{ job_name: options.job, static_configs: [{ targets: options.targets }] }],
  };
  const configFile = join(dir, "prometheus.yml");
  writeFileSync(configFile, stringify(config));
  const url = `http://127.0.0.1:${options.port}`;
  const proc: Subprocess<"ignore", "pipe", "pipe"> = spawn(
    [
      options.binary,
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${options.port}`,
      "--storage.tsdb.retention.time=1h",
      "--log.level=warn",
    ],
    { stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  let logText = "";
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stderr)
      logText = (logText + decoder.decode(chunk)).slice(-20_000);
  })();
  void (async () => {
    for await (const _ of proc.stdout) {
      // drained
    }
  })();
  const stop = async () => {
    proc.kill("SIGTERM");
    const exited = await Promise.race([proc.exited, Bun.sleep(10_000).then(() => null)]);
    if (exited === null) {
      proc.kill("SIGKILL");
      await proc.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  for (;;) {
    if (proc.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited ${proc.exitCode} during start-up:\n${logText}`);
    }
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus did not become ready on ${url} in time:\n${logText}`);
    }
    await Bun.sleep(200);
  }
  return {
    url,
    log: () => logText,
    stop,
    async api<T>(path: string, params: Record<string, string> = {}) {
      const response = await fetch(`${url}${path}?${new URLSearchParams(params)}`, {
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await response.json()) as { status: string; data: T; error?: string };
      if (body.status !== "success") throw new Error(body.error ?? `HTTP ${response.status}`);
      return body.data;
    },
  };
}
