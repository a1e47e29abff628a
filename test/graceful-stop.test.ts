/**
 * A graceful stop (SIGTERM, what Kubernetes sends a pod) is quiet: exit code 0 and not one
 * warning or error on the way down. An SRE reads a warning at shutdown as something lost; one
 * used to be logged at most stops ("could not publish partition ownership: the embedded log is
 * closed"), from a publish timer that outlived the log.
 *
 * The last claim an instance publishes on its way down says it serves nothing, so peers stop
 * forwarding entity queries to it before its HTTP server is gone.
 */
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { membersTopic } from "../actors/routing/membership.ts";
import { openEmbeddedLog } from "../runtime/log/embedded/index.ts";
import { type PlatformProcess, startPlatform, waitFor } from "./support/platform-process.ts";
import { tempDirs } from "./support/temp-dirs.ts";

setDefaultTimeout(120_000);

/** Stops, each after the partitions changed owner shortly before: the race needs a few tries. */
const STOPS = 3;

let running: PlatformProcess | null = null;
const temp = tempDirs({ removeAfterAll: false });
afterAll(async () => {
  running?.proc.kill("SIGKILL");
  await running?.proc.exited;
  await temp.removeAll();
});

interface LogLine {
  level?: string;
  msg?: string;
}

function linesAtOrAbove(stderr: string, levels: Set<string>): string[] {
  return stderr
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .filter((line) => levels.has((JSON.parse(line) as LogLine).level ?? ""));
}

test("SIGTERM stops the platform with exit code 0, no warning or error, and a last claim of no partitions", async () => {
  const dataDir = temp.make("coelho-graceful-stop-");
  for (let stop = 0; stop < STOPS; stop++) {
    const platform = startPlatform({
      COELHO_DATA_DIR: dataDir,
      COELHO_USECASES: "counter",
      COELHO_LOG_LEVEL: "info",
    });
    running = platform;
    await waitFor("the platform ready", 60_000, async () => {
      if (platform.proc.exitCode !== null) {
        throw new Error(`the platform exited: ${platform.stderr().slice(-1500)}`);
      }
      const { status } = await platform.get("/health/ready").catch(() => ({ status: 0 }));
      return status === 200 ? true : undefined;
    });
    platform.proc.kill("SIGTERM");
    expect(await platform.proc.exited).toBe(0);
    running = null;
    // The pipe may still hold the last lines when the exit code is in.
    const stderr = await waitFor("the last log line", 5_000, () =>
      platform.stderr().includes('"msg":"stopped"') ? platform.stderr() : undefined,
    );
    expect(linesAtOrAbove(stderr, new Set(["warn", "error", "fatal"]))).toEqual([]);
  }

  const log = await openEmbeddedLog({ dir: join(dataDir, "log"), fsync: "never" });
  try {
    const claims = await log.read(membersTopic("coelho"), 0, 0, 10_000);
    expect(claims.length).toBeGreaterThan(0);
    const last = JSON.parse(new TextDecoder().decode(claims.at(-1)?.value)) as {
      assignments: Record<string, number[]>;
    };
    expect(last.assignments).toEqual({});
  } finally {
    await log.close();
  }
});
