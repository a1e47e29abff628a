import { describe, expect, test } from "bun:test";
import { type LogEntry, logLevel } from "kafkajs";
import type { Logger } from "../../logger.ts";
import { createKafkaLogRouter } from "./kafka-logger.ts";

interface Line {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

function capture(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const write = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    void lines.push({ level, msg, fields: fields ?? {} });
  const logger: Logger = {
    debug: write("debug"),
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
    fatal: write("fatal"),
    child: () => logger,
  };
  return { logger, lines };
}

function entry(level: logLevel, message: string, extra: Record<string, unknown> = {}): LogEntry {
  return {
    namespace: "Connection",
    level,
    label: logLevel[level] ?? "",
    log: { timestamp: "", logger: "kafkajs", message, ...extra },
  } as LogEntry;
}

describe("kafka log router", () => {
  test("writes a line once per window and reports its repeats in one summary", () => {
    let now = 0;
    const { logger, lines } = capture();
    const router = createKafkaLogRouter(logger, {
      windowMs: 1_000,
      linesPerWindowMax: 10,
      nowMs: () => now,
    });
    const log = router.logCreator(logLevel.WARN);
    for (let i = 0; i < 50; i += 1)
      log(entry(logLevel.ERROR, "Connection error", { broker: "b:1", stack: "x" }));
    expect(lines).toEqual([
      {
        level: "error",
        msg: "Connection error",
        fields: { source: "kafkajs", namespace: "Connection", broker: "b:1" },
      },
    ]);
    now = 1_000;
    log(entry(logLevel.ERROR, "Connection error"));
    // The window closed: the 49 repeats are summarised; the error goes on, so it is only counted.
    expect(lines.slice(1)).toEqual([
      {
        level: "error",
        msg: "Connection error",
        fields: { source: "kafkajs", namespace: "Connection", repeated: 49, windowMs: 1_000 },
      },
    ]);
    router.flush();
    expect(lines[2]?.fields.repeated).toBe(1);
  });

  test("bounds first-time lines per window and drops info, debug and the expected lines", () => {
    const { logger, lines } = capture();
    const router = createKafkaLogRouter(logger, {
      windowMs: 60_000,
      linesPerWindowMax: 3,
      nowMs: () => 0,
    });
    const log = router.logCreator(logLevel.WARN);
    log(entry(logLevel.INFO, "joined"));
    log(
      entry(
        logLevel.WARN,
        "Limiting retries for the idempotent producer may invalidate EoS guarantees",
      ),
    );
    // A topic ensureTopic asked for that exists already: the usual answer, not an error.
    log(
      entry(logLevel.ERROR, "Response CreateTopics(key: 19, version: 3)", {
        error: "Topic creation errors",
      }),
    );
    for (let i = 0; i < 5; i += 1) log(entry(logLevel.WARN, `distinct ${i}`));
    expect(lines.map((l) => l.msg)).toEqual(["distinct 0", "distinct 1", "distinct 2"]);
    router.flush();
    expect(lines[3]).toEqual({
      level: "warn",
      msg: "kafkajs lines suppressed by the rate bound",
      fields: { suppressed: 2, windowMs: 60_000 },
    });
  });

  test("another request's error answer is still an error", () => {
    const { logger, lines } = capture();
    const router = createKafkaLogRouter(logger, { windowMs: 60_000, linesPerWindowMax: 10 });
    router.logCreator(logLevel.WARN)(
      entry(logLevel.ERROR, "Response Produce(key: 0, version: 7)", {
        error: "This server is not the leader for that topic-partition",
      }),
    );
    expect(lines.map((l) => [l.level, l.msg, l.fields.error])).toEqual([
      [
        "error",
        "Response Produce(key: 0, version: 7)",
        "This server is not the leader for that topic-partition",
      ],
    ]);
  });
});
