/**
 * The Alertmanager example is a valid configuration (`amtool check-config`, Debian's
 * prometheus-alertmanager), routes each severity of our alerts where its comment says, and its
 * inhibitions name alerts and labels that the rules really have.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { ensurePrometheus, loadRules, REPO, run } from "./support.ts";

const CONFIG = join(REPO, "observability", "alertmanager", "alertmanager.yml");

/** The receivers `labels` are routed to, as amtool's routing tree says. */
function routesOf(labels: Record<string, string>): string[] {
  const { amtool } = ensurePrometheus();
  const pairs = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  const { code, output } = run([
    amtool,
    "config",
    "routes",
    "test",
    `--config.file=${CONFIG}`,
    ...pairs,
  ]);
  if (code !== 0) throw new Error(`amtool config routes test failed:\n${output}`);
  const line = output.split("\n").find((l) => l.trim() !== "" && !l.startsWith("Warning")) ?? "";
  return line.trim().split(",").sort();
}

describe("Alertmanager example", () => {
  test("amtool check-config accepts it", () => {
    const { amtool } = ensurePrometheus();
    const { code, output } = run([amtool, "check-config", CONFIG]);
    expect({ code, output }).toMatchObject({ code: 0 });
  }, 120_000);

  test("critical pages (and reaches the team channel), warning tickets, info goes nowhere", () => {
    expect(routesOf({ alertname: "NoChampion", severity: "critical", usecase: "fraud" })).toEqual([
      "pager",
      "ticket",
    ]);
    expect(routesOf({ alertname: "ConsumerLagHigh", severity: "warning" })).toEqual(["ticket"]);
    expect(routesOf({ alertname: "ModelRolledBack", severity: "info" })).toEqual(["null"]);
  });

  test("every alert's severity is routed, and inhibitions name real alerts", () => {
    const alerts = loadRules().filter((r) => r.alert);
    for (const a of alerts) {
      const receivers = routesOf({
        alertname: a.alert as string,
        severity: a.labels?.severity ?? "",
      });
      expect({ alert: a.alert, paged: receivers.includes("pager") }).toEqual({
        alert: a.alert,
        paged: a.labels?.severity === "critical",
      });
    }
    const names = new Set(alerts.map((a) => a.alert));
    const config = parse(readFileSync(CONFIG, "utf8")) as {
      inhibit_rules: { source_matchers: string[]; target_matchers: string[] }[];
    };
    for (const rule of config.inhibit_rules) {
      for (const matcher of [...rule.source_matchers, ...rule.target_matchers]) {
        const named = /^alertname!?="(\w+)"$/.exec(matcher)?.[1];
        if (named) expect(names).toContain(named);
      }
    }
  }, 60_000);
});
