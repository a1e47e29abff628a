/**
 * The Prometheus rules are valid (`promtool check rules`), their unit tests pass
 * (`promtool test rules`, Debian's prometheus package), and every alert is complete: a severity,
 * a summary, a description, a runbook section in observability/README.md, and a unit test in
 * which it fires and one in which it stays quiet.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { ensurePrometheus, loadRules, REPO, ruleFiles, ruleTestFiles, run } from "./support.ts";

interface AlertCase {
  alertname: string;
  exp_alerts: unknown[];
}

/** Alert names with a case where they fire, and with a case where they must not. */
function alertCases(): { fires: Set<string>; quiet: Set<string> } {
  const fires = new Set<string>();
  const quiet = new Set<string>();
  for (const file of ruleTestFiles()) {
    const doc = parse(readFileSync(file, "utf8")) as {
      tests: { alert_rule_test?: AlertCase[] }[];
    };
    for (const t of doc.tests) {
      for (const c of t.alert_rule_test ?? []) {
        (c.exp_alerts.length > 0 ? fires : quiet).add(c.alertname);
      }
    }
  }
  return { fires, quiet };
}

describe("Prometheus rules", () => {
  test("promtool check rules accepts every rule file", () => {
    const { promtool } = ensurePrometheus();
    const { code, output } = run([promtool, "check", "rules", ...ruleFiles()]);
    expect({ code, output }).toMatchObject({ code: 0 });
  }, 120_000);

  test("promtool test rules passes every unit test", () => {
    const { promtool } = ensurePrometheus();
    const { code, output } = run([promtool, "test", "rules", ...ruleTestFiles()]);
    expect({ code, output }).toMatchObject({ code: 0 });
  }, 120_000);

  const alerts = loadRules().filter((r) => r.alert);

  test("the issue's alerts are all there", () => {
    const names = alerts.map((a) => a.alert);
    for (const name of [
      "ScoringLatencyBudgetBurnFast",
      "ScoringLatencyBudgetBurnSlow",
      "ScoringAvailabilityBudgetBurnFast",
      "ScoringAvailabilityBudgetBurnSlow",
      "ConsumerLagHigh",
      "DeadLetterRateHigh",
      "SupervisorRestarting",
      "SupervisorEscalated",
      "CoelhoInstanceDown",
      "NoChampion",
      "DriftConfirmed",
      "ModelQualityDegraded",
      "RetrainingFailing",
    ]) {
      expect(names).toContain(name);
    }
    expect(new Set(names).size).toBe(names.length);
  });

  test("every alert has a severity, a summary, a description and a runbook section", () => {
    const readme = readFileSync(join(REPO, "observability", "README.md"), "utf8");
    const sections = new Set(
      [...readme.matchAll(/^### (\w+)\s*$/gm)].map((m) => (m[1] as string).toLowerCase()),
    );
    const problems: string[] = [];
    for (const a of alerts) {
      const name = a.alert as string;
      if (!/^[A-Z][A-Za-z0-9]+$/.test(name)) problems.push(`${name}: not CamelCase`);
      if (!["critical", "warning", "info"].includes(a.labels?.severity ?? "")) {
        problems.push(`${name}: severity must be critical|warning|info`);
      }
      for (const key of ["summary", "description"]) {
        if (!a.annotations?.[key]) problems.push(`${name}: no ${key} annotation`);
      }
      const anchor = name.toLowerCase();
      if (a.annotations?.runbook !== `observability/README.md#${anchor}`) {
        problems.push(`${name}: runbook annotation should be observability/README.md#${anchor}`);
      }
      if (!sections.has(anchor)) problems.push(`${name}: no "### ${name}" section in the README`);
    }
    expect(problems).toEqual([]);
  });

  test("every alert has a unit test where it fires and one where it stays quiet", () => {
    const { fires, quiet } = alertCases();
    const missing = alerts.flatMap((a) => {
      const name = a.alert as string;
      return [
        ...(fires.has(name) ? [] : [`${name}: no case where it fires`]),
        ...(quiet.has(name) ? [] : [`${name}: no case where it stays quiet`]),
      ];
    });
    expect(missing).toEqual([]);
  });
});
