import { afterEach, expect, test } from "bun:test";
import { logLevel, setLogLevel } from "./logger.ts";

const initial = logLevel();
afterEach(() => setLogLevel(initial));

test("logLevel reports the level set last, for worker threads to set their own", () => {
  for (const level of ["debug", "warn", "error", "info"] as const) {
    setLogLevel(level);
    expect(logLevel()).toBe(level);
  }
});
