/**
 * Fuzzing the API from its own OpenAPI document with schemathesis (pinned, from PyPI, provisioned
 * by scripts/schemathesis/provision.sh): a bounded run against the platform's real server, with
 * the admin token so the model routes are exercised past their guard. No request may get a 5xx
 * other than the documented 503 (no champion, partition moving, busy).
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ADMIN_TOKEN, startTestPlatform, type TestPlatform } from "./support.ts";

setDefaultTimeout(300_000);
const ROOT = join(import.meta.dir, "..", "..");
/** In the API workstream's test port range (19550-19599). */
const PORT = 19570;
/** The whole fuzzing run is cut here (it normally takes well under a minute). */
const RUN_TIMEOUT_MS = 180_000;

let served: TestPlatform;
let st: string;
const reportDir = mkdtempSync(join(tmpdir(), "coelho-schemathesis-"));

beforeAll(async () => {
  const provision = Bun.spawn(["bash", join(ROOT, "scripts", "schemathesis", "provision.sh")], {
    stdout: "pipe",
    stderr: "inherit",
  });
  const out = await new Response(provision.stdout).text();
  expect(await provision.exited).toBe(0);
  st = out.trim().split("\n").at(-1) ?? "";
  served = await startTestPlatform({ env: { COELHO_HTTP_PORT: String(PORT) } });
}, 600_000);

afterAll(async () => {
  await served?.stop();
  rmSync(reportDir, { recursive: true, force: true });
});

test("schemathesis finds no server error in any operation of the OpenAPI document", async () => {
  const junit = join(reportDir, "junit.xml");
  const run = Bun.spawn(
    [
      st,
      "run",
      `http://127.0.0.1:${PORT}/openapi.json`,
      "--checks",
      "not_a_server_error",
      "--max-examples",
      "30",
      "--phases",
      "examples,coverage,fuzzing",
      "--workers",
      "1",
      "--request-timeout",
      "10",
      "--seed",
      "1",
      "--header",
      `Authorization: Bearer ${ADMIN_TOKEN}`,
      "--report",
      "junit",
      "--report-junit-path",
      junit,
    ],
    // Run in the report dir: schemathesis writes a .schemathesis/ cache where it runs.
    { cwd: reportDir, stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } },
  );
  const timer = setTimeout(() => run.kill("SIGTERM"), RUN_TIMEOUT_MS);
  const [out, err] = await Promise.all([
    new Response(run.stdout).text(),
    new Response(run.stderr).text(),
  ]);
  clearTimeout(timer);
  const code = await run.exited;
  if (code !== 0 || process.env.COELHO_TEST_VERBOSE)
    console.log(out.slice(-6000), err.slice(-2000));
  expect(code).toBe(0);
  // Every operation was exercised (the document lists them; none was skipped as unusable).
  const report = readFileSync(junit, "utf8");
  expect(report).toContain("/api/v1/fraud/score");
  expect(report).toContain("/api/v1/models/{usecase}/promote");
});
