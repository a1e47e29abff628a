import { describe, expect, test } from "bun:test";
import { loadConfig } from "../runtime/config.ts";
import { embeddedLogOptions } from "./platform.ts";

describe("embeddedLogOptions", () => {
  test("the platform's embedded log is bounded by default: 512 MiB and 7 days a partition", () => {
    const options = embeddedLogOptions(loadConfig({ COELHO_DATA_DIR: "/srv/coelho" }));
    expect(options.dir).toBe("/srv/coelho/log");
    expect(options.fsync).toBe("always");
    expect(options.retention).toEqual({ maxBytes: 512 * 1024 * 1024, maxAgeMs: 7 * 86_400_000 });
  });

  test("each bound follows its setting, and 0 lifts it", () => {
    const options = embeddedLogOptions(
      loadConfig({ COELHO_LOG_RETENTION_MB: "0", COELHO_LOG_RETENTION_HOURS: "12" }),
    );
    expect(options.retention).toEqual({ maxAgeMs: 12 * 3_600_000 });
  });
});
