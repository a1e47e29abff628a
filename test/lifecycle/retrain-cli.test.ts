/**
 * `bun run retrain`: against a real platform process, it starts a retraining through the API and
 * follows it over the live stream to its outcome; a wrong token and bad usage are clear errors.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { progressLine } from "../../models/retrain-cli.ts";
import { type PlatformProcess, startPlatform, waitFor } from "../support/platform-process.ts";
import { runToEnd } from "../support/run-to-end.ts";

// Hooks start servers, processes or big fixtures: bunfig's timeout covers tests, not hooks (5 s).
setDefaultTimeout(120_000);

const ROOT = join(import.meta.dir, "..", "..");
const TOKEN = "retrain-cli-test-token-0123456789";
let dataDir: string;
let platform: PlatformProcess;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "coelho-retrain-cli-"));
  platform = startPlatform({
    COELHO_USECASES: "fraud",
    COELHO_SIMULATE: "true",
    COELHO_SIMULATE_RATE: "500",
    COELHO_ADMIN_TOKEN: TOKEN,
    COELHO_DATA_DIR: dataDir,
    COELHO_LOG_LEVEL: "warn",
  });
  await waitFor("the platform ready with a retraining loop", 120_000, async () => {
    const ready = await platform.get<{ status: string }>("/health/ready");
    if (ready.status !== 200) return undefined;
    const machines = await platform.get<{ kind: string }[] | { machines: { kind: string }[] }>(
      "/api/v1/machines",
    );
    const list = Array.isArray(machines.body) ? machines.body : machines.body.machines;
    return list.some((m) => m.kind === "retraining") ? true : undefined;
  });
}, 150_000);

afterAll(async () => {
  platform?.proc.kill("SIGTERM");
  await platform?.proc.exited;
  rmSync(dataDir, { recursive: true, force: true });
});

function retrain(...args: string[]) {
  return runToEnd(["bun", join(ROOT, "models", "retrain-cli.ts"), ...args], {
    cwd: ROOT,
    env: { ...process.env, COELHO_ADMIN_TOKEN: "" },
  });
}

describe("bun run retrain", () => {
  test("starts a run and follows its stages to the outcome the platform recorded", async () => {
    const url = `http://127.0.0.1:${platform.port}`;
    const { code, stdout, stderr } = await retrain(
      "fraud",
      "--url",
      url,
      "--token",
      TOKEN,
      "--timeout",
      "240",
    );
    const outcome = /^fraud retraining (\S+): (promoted|rejected|failed)/m.exec(stdout);
    expect(outcome, `stdout: ${stdout}\nstderr: ${stderr}`).not.toBeNull();
    expect(code).toBe(outcome?.[2] === "failed" ? 1 : 0);
    expect(stderr).toContain(`retraining fraud on ${url}`);
    // The stages came over the live stream before the outcome.
    expect(stderr).toContain("collecting");
    const machines = await platform.get<unknown>("/api/v1/machines");
    expect(JSON.stringify(machines.body)).toContain(String(outcome?.[1]));
  }, 300_000);

  test("a wrong token is refused with the platform's reason", async () => {
    const url = `http://127.0.0.1:${platform.port}`;
    const { code, stderr } = await retrain(
      "fraud",
      "--url",
      url,
      "--token",
      "not-the-token-at-all",
    );
    expect(code).toBe(1);
    expect(stderr).toContain("refused (401)");
  }, 30_000);

  test("the progress bar shows candidates trained out of the search's total", () => {
    expect(progressLine({ stage: "training", done: 3, total: 8, tunePrAuc: 0.91234 })).toBe(
      "training    [#########...............] 3/8  tune PR-AUC 0.9123",
    );
    expect(progressLine({ stage: "validating", done: 0, total: 0 })).toBe("validating");
  });

  test("bad usage names the flag and exits 2", async () => {
    const missing = await retrain("fraud");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--token: missing");
    const badUrl = await retrain("fraud", "--url", "localhost:3000", "--token", TOKEN);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toContain('--url: "localhost:3000" is not valid');
  }, 30_000);
});
