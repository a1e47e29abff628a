/**
 * What the observability tests share: the rule and dashboard files, and Prometheus/promtool
 * provisioned by `scripts/prometheus/install.sh` (Debian's package, pinned).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "bun";
import { parse } from "yaml";

export const REPO = join(import.meta.dir, "..", "..");
export const RULES_DIR = join(REPO, "observability", "prometheus");
export const RULE_TESTS_DIR = join(RULES_DIR, "tests");
export const DASHBOARDS_DIR = join(REPO, "observability", "grafana", "dashboards");

export interface PrometheusTools {
  promtool: string;
  prometheus: string;
  amtool: string;
}

let provisioned: PrometheusTools | null = null;

/** Paths of promtool, prometheus and amtool, installing the pinned Debian packages if needed. */
export function ensurePrometheus(): PrometheusTools {
  if (provisioned) return provisioned;
  const result = spawnSync(["bash", "scripts/prometheus/install.sh"], {
    cwd: REPO,
    stdout: "pipe",
    stderr: "pipe",
  });
  if (result.exitCode !== 0) {
    throw new Error(
      `scripts/prometheus/install.sh exited ${result.exitCode}:\n${result.stderr.toString()}`,
    );
  }
  const promtool = result.stdout.toString().trim().split("\n").pop() ?? "promtool";
  const bin = join(promtool, "..");
  provisioned = { promtool, prometheus: join(bin, "prometheus"), amtool: join(bin, "amtool") };
  return provisioned;
}

/** Runs a command; its exit code and output (stdout then stderr). */
export function run(argv: string[], cwd = REPO): { code: number; output: string } {
  const result = spawnSync(argv, { cwd, stdout: "pipe", stderr: "pipe" });
  return {
    code: result.exitCode ?? -1,
    output: `${result.stdout.toString()}${result.stderr.toString()}`,
  };
}

export interface Rule {
  file: string;
  group: string;
  record?: string;
  alert?: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function ruleFiles(): string[] {
  return readdirSync(RULES_DIR)
    .filter((name) => name.endsWith(".rules.yml"))
    .sort()
    .map((name) => join(RULES_DIR, name));
}

export function ruleTestFiles(): string[] {
  return readdirSync(RULE_TESTS_DIR)
    .filter((name) => name.endsWith(".yml"))
    .sort()
    .map((name) => join(RULE_TESTS_DIR, name));
}

/** Every recording and alerting rule of every rule file. */
export function loadRules(): Rule[] {
  const rules: Rule[] = [];
  for (const file of ruleFiles()) {
    const doc = parse(readFileSync(file, "utf8")) as {
      groups: { name: string; rules: Omit<Rule, "file" | "group">[] }[];
    };
    for (const group of doc.groups) {
      for (const rule of group.rules) rules.push({ ...rule, file, group: group.name });
    }
  }
  return rules;
}

export interface DashboardFile {
  file: string;
  // biome-ignore lint/suspicious/noExplicitAny: Grafana's dashboard JSON model, checked by the tests.
  json: any;
}

export function loadDashboards(): DashboardFile[] {
  return readdirSync(DASHBOARDS_DIR)
    .filter((name) => name.endsWith(".json"))
    .sort()
    .map((name) => ({
      file: name,
      json: JSON.parse(readFileSync(join(DASHBOARDS_DIR, name), "utf8")),
    }));
}
