/**
 * A first `bun start`, as a new user runs it (built-in simulator, first champion trained on
 * start): the champion is served on the world it was trained on. The simulator writes the world's
 * history into the empty log first, so the shards' card states saw the very past the champion's
 * training rows were computed from. Before, the live cards were all new while the champion had
 * learnt on cards with weeks of history: within two simulated days fifteen feature detectors went
 * to warning or drift, and drift started a retraining every minute.
 *
 * Prediction drift (`psi/score`) is left out: it may go to drift within days and start
 * retrainings of its own (seen in one CI run; 0.11-0.20 in runs on the development machine). The
 * world's cards only age past the validation period the reference comes from, and the
 * reference's scores come from the TypeScript model where live ones come from onnxruntime in
 * float32 (docs/drift.md); which of the two it is has not been measured yet.
 *
 * The simulator runs at 1000 transactions/s, so its 3000 cards live a simulated day in ~8 s.
 */
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SIMULATED_CARDS } from "../models/fraud/index.ts";
import { speedFor } from "../models/fraud/simulator/producer.ts";
import { type PlatformProcess, startPlatform, waitFor } from "./support/platform-process.ts";

setDefaultTimeout(240_000);

const RATE = 1000;
/** Simulated days of live traffic watched after the champion serves. */
const LIVE_DAYS = 4;

let platform: PlatformProcess | null = null;
const dirs: string[] = [];
afterAll(async () => {
  platform?.proc.kill("SIGTERM");
  await platform?.proc.exited;
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface LogLine {
  msg?: string;
  feature?: string;
  state?: string;
  trigger?: string;
  transactions?: number;
}

function logLines(text: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      lines.push(JSON.parse(line) as LogLine);
    } catch {
      // a line cut by the pipe's buffering: the next read has it whole
    }
  }
  return lines;
}

async function metric(port: number, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

test("a first start serves its first champion on the world it was trained on: no feature drifts, no feature starts a retraining", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "coelho-first-start-"));
  dirs.push(dataDir);
  const started = startPlatform({
    COELHO_DATA_DIR: dataDir,
    COELHO_USECASES: "fraud",
    COELHO_SIMULATE: "true",
    COELHO_SIMULATE_RATE: String(RATE),
    COELHO_LOG_FSYNC: "never",
    COELHO_LOG_LEVEL: "info",
  });
  platform = started;
  await waitFor("the first champion serving", 150_000, async () => {
    if (started.proc.exitCode !== null) {
      throw new Error(`the platform exited: ${started.stderr().slice(-1500)}`);
    }
    const { status } = await started.get("/health/ready");
    return status === 200 ? true : undefined;
  });
  const history = logLines(started.stderr()).find((l) => l.msg === "simulated history written");
  expect(history?.transactions ?? 0).toBeGreaterThan(100_000);

  const secondsPerDay = 86_400 / speedFor(RATE, SIMULATED_CARDS);
  await Bun.sleep(LIVE_DAYS * secondsPerDay * 1000);

  const lines = logLines(started.stderr());
  // Prediction drift (`score`) may warn: the cards age past the validation period the
  // reference comes from (docs/drift.md). No feature may leave `stable`.
  const featureChanges = lines.filter(
    (l) => l.msg === "drift detector changed state" && l.feature !== "score",
  );
  expect(featureChanges.map((l) => `${l.feature}: ${l.state}`)).toEqual([]);
  const featureRetrainings = lines
    .filter((l) => l.msg === "retraining" && l.trigger?.startsWith("drift:psi/score") !== true)
    .map((l) => l.trigger);
  // `drift:persisting` retries a drift that persists: whichever detector it was, it is the score's.
  const scoreDrifted = lines.some((l) => l.trigger === "drift:psi/score");
  expect(
    featureRetrainings.filter((trigger) => !(scoreDrifted && trigger === "drift:persisting")),
  ).toEqual([]);
  const flagged = await metric(started.port, "coelho_model_decisions_total", 'decision="flag"');
  const passed = await metric(started.port, "coelho_model_decisions_total", 'decision="pass"');
  expect(flagged + passed).toBeGreaterThan(LIVE_DAYS * secondsPerDay * RATE * 0.5);
  // The threshold is chosen by expected cost (a review costs $5, a miss its amount): a few % flagged.
  expect(flagged / (flagged + passed)).toBeLessThan(0.06);
});
