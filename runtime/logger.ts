/**
 * Structured logs: one JSON object per line on stderr, one line per notable event, written by
 * pino. A line is `{"level":"info","time":"<ISO-8601>",<bindings>,<fields>,"msg":"..."}`.
 *
 * Small on purpose: the hot path never logs, and a line must reach stderr even when the process
 * is about to exit, so pino writes synchronously (no worker thread, nothing buffered). The level
 * threshold is global and checked before pino is called, so `setLogLevel` also applies to the
 * loggers (and children) created before it, as the platform's modules create theirs at import.
 */
import pino from "pino";

export type Level = "debug" | "info" | "warn" | "error" | "fatal";
const rank: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40, fatal: 50 };

/** The lowest level written, and its rank (what the hot check compares). */
let lowest: Exclude<Level, "fatal"> = "info";
let threshold: number = rank.info;

/** Sets the lowest level written (from COELHO_LOG_LEVEL). */
export function setLogLevel(level: Exclude<Level, "fatal">): void {
  lowest = level;
  threshold = rank[level];
}

/** The lowest level written now (what a worker thread should set for its own loggers). */
export function logLevel(): Exclude<Level, "fatal"> {
  return lowest;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  fatal(msg: string, fields?: Record<string, unknown>): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** The one pino instance: everything filtered by `threshold` first, so it passes all levels. */
const root = pino(
  {
    level: "debug",
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  },
  pino.destination({ dest: 2, sync: true }),
);

/** An Error as its name and message (stack traces would make one event many lines' worth). */
function errorFields(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

function plain(fields?: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (fields) for (const [k, v] of Object.entries(fields)) out[k] = errorFields(v);
  return out;
}

/**
 * Bindings are merged into each line here rather than with pino's child loggers: a field named
 * like a binding then replaces it (one key per line), as it always did.
 */
function wrap(bindings: Record<string, unknown>): Logger {
  const write = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (rank[level] < threshold) return;
    root[level](fields ? { ...bindings, ...plain(fields) } : bindings, msg);
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    fatal: (m, f) => write("fatal", m, f),
    child: (more) => wrap({ ...bindings, ...plain(more) }),
  };
}

/** A logger whose lines carry `bindings` (e.g. `{ component: "shard", shard: 2 }`). */
export function createLogger(bindings: Record<string, unknown> = {}): Logger {
  return wrap(plain(bindings));
}

export const log = createLogger();

/** A logger that drops everything: for tests and benchmarks whose own lines would be noise. */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  fatal: () => {},
  child: () => silentLogger,
};
