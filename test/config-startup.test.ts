/** A bad configuration stops startup with one clear line and a non-zero exit. */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { cleanEnv } from "./support/platform-process.ts";

const MAIN = join(import.meta.dir, "..", "actors", "main.ts");

const cases: [string, string, string][] = [
  ["COELHO_HTTP_PORT", "not-a-port", "COELHO_HTTP_PORT"],
  ["COELHO_KAFKA_BROKERS", "localhost", "has no port"],
  ["COELHO_PARTITIONS", "-3", "COELHO_PARTITIONS"],
  ["COELHO_CHECKPOINT_INTERVAL_MS", "1.5", "COELHO_CHECKPOINT_INTERVAL_MS"],
  ["COELHO_LOG_LEVEL", "loud", "COELHO_LOG_LEVEL"],
  ["COELHO_SIMULATE_FROM", "yesterday", "ISO-8601"],
];

describe("startup with a bad variable", () => {
  for (const [name, value, fragment] of cases) {
    test(`${name}="${value}" exits 2 with one line naming it`, async () => {
      const proc = Bun.spawn(["bun", MAIN], {
        env: { ...cleanEnv(), [name]: value, COELHO_DATA_DIR: "/nonexistent-never-created" },
        stdout: "pipe",
        stderr: "pipe",
      });
      const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
      expect(code).toBe(2);
      const lines = stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toStartWith(`coelho-realtime: bad configuration: ${name}: "${value}"`);
      expect(lines[0]).toContain(fragment);
    });
  }
});
