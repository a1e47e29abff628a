import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { tempDirs } from "../test/support/temp-dirs.ts";
import { type FraudNotebook, fraudEvaluationNotebook } from "./fraud-evaluation.ts";

const temp = tempDirs();
/** A smaller world than the default's, so the whole notebook runs in about a second. */
const SMALL = { seed: 1, days: 20, cards: 800, fraudRate: 0.01, reviewFeeUsd: 5 };

describe("the fraud evaluation notebook", () => {
  let notebook: FraudNotebook;
  test("runs every cell, in order", () => {
    notebook = fraudEvaluationNotebook(SMALL);
    const headings = notebook.markdown.split("\n").filter((line) => line.startsWith("## "));
    expect(headings).toEqual([
      "## 1. The data, and what its labels hide",
      "## 2. The periods",
      "## 3. Three scorers on the test period",
      "## 4. What each scorer catches, by fraud scenario",
      "## 5. The threshold: what flagging more or less would cost",
      "## 6. Calibration",
      "## 7. What the trees split on",
      "## 8. Why the trees flag what they flag",
      "## 9. How training converged",
    ]);
    // The same figures the training pipeline reports, not figures of its own.
    expect(notebook.markdown).toContain(`|gbt|${notebook.result.gbt.test.prAuc.toFixed(4)}|`);
    expect(notebook.markdown).toContain(`|rules|${notebook.result.rules.test.prAuc.toFixed(4)}|`);
  });

  test("its scenario table covers the test period the pipeline judged, and more", () => {
    const { scenarios, result } = notebook;
    const frauds = scenarios.filter((row) => row.scenario !== "legitimate");
    const legitimate = scenarios.find((row) => row.scenario === "legitimate");
    expect(legitimate?.labelledFraud).toBe(0);
    // Every chargebacked transaction of the period is a test row's fraud: same period, same truth.
    expect(frauds.reduce((n, row) => n + row.labelledFraud, 0)).toBe(result.data.positives.test);
    // And the table also holds what the test rows leave out (unlabelled transactions).
    const transactions = scenarios.reduce((n, row) => n + row.transactions, 0);
    expect(transactions).toBeGreaterThanOrEqual(result.data.rows.test);
    for (const row of scenarios) {
      for (const share of [row.gbt, row.logistic, row.rules]) {
        expect(share).toBeGreaterThanOrEqual(0);
        expect(share).toBeLessThanOrEqual(1);
      }
    }
  });

  test("the reasons explain exactly the flags the scenario table counts, and add up to their scores", () => {
    const { reasons, scenarios } = notebook;
    expect(reasons.map((r) => r.scenario).sort()).toEqual(
      scenarios
        .filter((s) => s.gbt > 0)
        .map((s) => s.scenario)
        .sort(),
    );
    for (const row of reasons) {
      const scenario = scenarios.find((s) => s.scenario === row.scenario);
      expect(row.flagged).toBe(Math.round((scenario?.gbt ?? 0) * (scenario?.transactions ?? 0)));
      // Each flag's contributions add up to its score's log-odds (the explainer is exact).
      expect(row.additivityError).toBeLessThan(1e-6);
      expect(row.top.length).toBeLessThanOrEqual(3);
      const means = row.top.map((t) => t.meanContribution);
      expect([...means].sort((a, b) => b - a)).toEqual(means);
      expect(row.first.share).toBeGreaterThan(0);
      expect(row.first.share).toBeLessThanOrEqual(1);
    }
  });

  test("calibration bins hold every test row; feature gains are shares, highest first", () => {
    expect(notebook.calibrationRows).toBe(notebook.result.data.rows.test);
    const shares = notebook.featureGain.map((f) => f.share);
    expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    expect([...shares].sort((a, b) => b - a)).toEqual(shares);
    expect(notebook.featureGain.map((f) => f.feature).sort()).toEqual(
      [...notebook.result.gbt.model.featureNames].sort(),
    );
  });
});

describe("bun notebooks/fraud-evaluation.ts", () => {
  const script = join(import.meta.dir, "fraud-evaluation.ts");

  test("--out writes the report", async () => {
    const out = join(temp.make("coelho-notebook-"), "report.md");
    const run = Bun.spawnSync(["bun", script, "--days", "20", "--cards", "800", "--out", out]);
    expect(run.exitCode).toBe(0);
    expect(await Bun.file(out).text()).toStartWith("# Fraud models, evaluated offline");
  });

  test("a bad option exits 2, naming it and the range", () => {
    const run = Bun.spawnSync(["bun", script, "--days", "0"]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr.toString()).toContain(
      '--days: "0" is not valid; expected a number from 1 to 366',
    );
  });
});
