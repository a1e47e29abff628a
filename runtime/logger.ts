/**
 * Structured logs: one JSON object per line on stderr, one line per notable event.
 *
 * Small on purpose: the hot path never logs, and a line must reach stderr even when the process
 * is about to exit (so writes are synchronous).
 */
import { writeSync } from "node:fs";

export type Level = "debug" | "info" | "warn" | "error" | "fatal";
const rank: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40, fatal: 50 };

let threshold: number = rank.info;

/** Sets the lowest level written (from COELHO_LOG_LEVEL). */
export function setLogLevel(level: Exclude<Level, "fatal">): void {
  threshold = rank[level];
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  fatal(msg: string, fields?: Record<string, unknown>): void;
  child(bindings: Record<string, unknown>): Logger;
}

function errorFields(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

/** A logger whose lines carry `bindings` (e.g. `{ component: "shard", shard: 2 }`). */
export function createLogger(bindings: Record<string, unknown> = {}): Logger {
  const write = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (rank[level] < threshold) return;
    const line: Record<string, unknown> = { level, time: new Date().toISOString(), msg };
    Object.assign(line, bindings);
    if (fields) for (const [k, v] of Object.entries(fields)) line[k] = errorFields(v);
    writeSync(2, `${JSON.stringify(line)}\n`);
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    fatal: (m, f) => write("fatal", m, f),
    child: (more) => createLogger({ ...bindings, ...more }),
  };
}

export const log = createLogger();
