/**
 * The chart's `helm test` pod, run for real without a cluster: the platform is started as the
 * StatefulSet's container would start it (the image's command, the rendered pod's environment),
 * except that it binds 127.0.0.1 on a free port and writes to a scratch data directory; then the
 * test pod's script, exactly as rendered, checks readiness and scores one card transaction
 * against it. A first start trains a model first (about 15 s).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Subprocess, spawn } from "bun";
import { runToEnd } from "../support/run-to-end.ts";
import { helmTemplate, one, PROVISION_TIMEOUT_MS, podEnv, provision, REPO } from "./support.ts";

// Hooks start servers, processes or big fixtures: bunfig's timeout covers tests, not hooks (5 s).
setDefaultTimeout(120_000);

const START_TIMEOUT_MS = 90_000;
const SCRIPT_TIMEOUT_MS = 240_000;
const STOP_TIMEOUT_MS = 20_000;

let platform: Subprocess<"ignore", "ignore", "pipe"> | null = null;
let dataDir = "";
let baseUrl = "";
let script = "";
let scoreFraud = "";
let platformLog = "";

/** Reads the platform's stderr (JSON lines) until it says where it listens. */
async function listeningUrl(stderr: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stderr.getReader();
  const decoder = new TextDecoder();
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const chunk = await Promise.race([
      reader.read(),
      Bun.sleep(Math.max(0, deadline - Date.now())).then(() => null),
    ]);
    if (!chunk || chunk.done) break;
    platformLog += decoder.decode(chunk.value);
    const match = /"port":(\d+),"msg":"http listening"/.exec(platformLog);
    if (match) {
      // Keep draining so the platform never blocks on a full pipe.
      (async () => {
        for (;;) {
          const next = await reader.read().catch(() => null);
          if (!next || next.done) return;
          platformLog = (platformLog + decoder.decode(next.value)).slice(-20_000);
        }
      })();
      return `http://127.0.0.1:${match[1]}`;
    }
  }
  throw new Error(
    `the platform did not listen within ${START_TIMEOUT_MS} ms:\n${platformLog.slice(-3000)}`,
  );
}

beforeAll(async () => {
  const helm = provision("scripts/helm/install.sh");
  const rendered = helmTemplate(helm, { namespace: "coelho" });
  if (rendered.exitCode !== 0) throw new Error(rendered.stderr);
  const sts = one(rendered.objects, "StatefulSet");
  const pod = rendered.objects.find(
    (o) => o.kind === "Pod" && o.metadata.name.endsWith("test-score"),
  );
  const container = pod?.spec.containers[0];
  script = container?.args[0] ?? "";
  scoreFraud = container?.env.find((e: { name: string }) => e.name === "SCORE_FRAUD")?.value;

  dataDir = mkdtempSync(join(tmpdir(), "coelho-helm-test-"));
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("COELHO_")) env[key] = value;
  }
  Object.assign(env, podEnv(sts, `${sts.metadata.name}-0`, "coelho"), {
    // Loopback and a free port here; a scratch directory for the volume.
    COELHO_HTTP_HOST: "127.0.0.1",
    COELHO_HTTP_PORT: "0",
    COELHO_DATA_DIR: dataDir,
  });
  const command = JSON.parse(
    /^CMD (\[.*\])$/m.exec(await Bun.file(`${REPO}/Dockerfile`).text())?.[1] ?? "[]",
  ) as string[];
  platform = spawn(command, { cwd: REPO, env, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  baseUrl = await listeningUrl(platform.stderr);
}, PROVISION_TIMEOUT_MS + START_TIMEOUT_MS);

afterAll(async () => {
  if (platform && platform.exitCode === null) {
    platform.kill("SIGTERM");
    const stopped = await Promise.race([
      platform.exited,
      Bun.sleep(STOP_TIMEOUT_MS).then(() => null),
    ]);
    if (stopped === null) platform.kill("SIGKILL");
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe("helm test", () => {
  test(
    "the rendered test pod's script finds the platform ready and scores a transaction",
    async () => {
      expect(scoreFraud).toBe("true");
      const {
        code: exitCode,
        stdout,
        stderr,
      } = await runToEnd(["bun", "-e", script], {
        cwd: dataDir,
        env: { ...process.env, BASE_URL: baseUrl, SCORE_FRAUD: scoreFraud },
        timeoutMs: SCRIPT_TIMEOUT_MS,
      });
      const report = `exit ${exitCode}\n${stdout}${stderr}\nplatform log tail:\n${platformLog.slice(-2000)}`;
      expect(report).toStartWith("exit 0\n");
      expect(stdout).toContain("ok: /health/ready answers 200");
      expect(stdout).toMatch(/ok: scored one transaction: score [0-9.e-]+, decision (flag|pass)/);
    },
    SCRIPT_TIMEOUT_MS + 10_000,
  );
});
