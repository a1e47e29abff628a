/**
 * The platform's logs (runtime/logger.ts, on pino): one JSON object per line on stderr with a
 * level, an ISO time and a message, the logger's bindings and the event's fields; errors as name
 * and message; a field named like a binding replaces it (one key); lines under the level
 * threshold not written, also for loggers made before it was set; and a fatal line written before
 * the process exits at once.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { spawnSync } from "bun";
import { REPO } from "./support.ts";

const SCRIPT = `
import { createLogger, log, setLogLevel } from ${JSON.stringify(join(REPO, "runtime", "logger.ts"))};
const shard = createLogger({ component: "shard", partition: 2 });
shard.info("shard restored", { partition: 2, nextOffset: 5 });
shard.debug("not written: under the default threshold (info)");
shard.child({ usecase: "fraud" }).warn("consumer failed", { error: new TypeError("boom") });
setLogLevel("debug");
shard.debug("written: the threshold applies to loggers made before it was set");
setLogLevel("error");
log.warn("not written: under error");
log.fatal("root supervisor failed", { supervisor: "root" });
process.exit(1);
`;

describe("structured logs", () => {
  test("JSON lines with level, time, message, bindings and fields; thresholds hold", () => {
    const result = spawnSync(["bun", "--eval", SCRIPT], { cwd: REPO, stderr: "pipe" });
    expect(result.exitCode).toBe(1);
    const lines = result.stderr
      .toString()
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    for (const line of lines) {
      expect(typeof line.time).toBe("string");
      expect(new Date(line.time).toISOString()).toBe(line.time);
    }
    expect(lines.map(({ time: _, ...rest }) => rest)).toEqual([
      { level: "info", component: "shard", partition: 2, nextOffset: 5, msg: "shard restored" },
      {
        level: "warn",
        component: "shard",
        partition: 2,
        usecase: "fraud",
        error: { name: "TypeError", message: "boom" },
        msg: "consumer failed",
      },
      {
        level: "debug",
        component: "shard",
        partition: 2,
        msg: "written: the threshold applies to loggers made before it was set",
      },
      { level: "fatal", supervisor: "root", msg: "root supervisor failed" },
    ]);
  }, 30_000);
});
