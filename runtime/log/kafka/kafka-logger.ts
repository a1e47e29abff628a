/**
 * Routes kafkajs's own log lines into the runtime's JSON logger, at warn level and above, with a
 * bound on their rate.
 *
 * While a broker is down kafkajs logs the same failure for every retry of every client (producer,
 * admin, each consumer), several lines a second. Here a distinct line (level, namespace, message)
 * is written the first time; repeats are counted and reported in one summary line per window
 * (`repeated: n`) for as long as they go on; and at most `linesPerWindowMax` first-time lines are
 * written per window, the rest counted in one "suppressed" line. A line that stopped recurring for
 * a whole window is written in full again when it comes back.
 */
import { type LogEntry, type logCreator, logLevel } from "kafkajs";
import type { Logger } from "../../logger.ts";

export interface KafkaLogRateOptions {
  /** Length of a deduplication window. */
  windowMs: number;
  /** First-time lines written per window at most; summaries are one per recurring line. */
  linesPerWindowMax: number;
  /** Clock, for tests. */
  nowMs?: () => number;
}

/**
 * Lines kafkajs writes on purpose that are not a problem here. The producer warns when its retries
 * are bounded: they are bounded by design (DESIGN.md: everything is bounded), and a send that runs
 * out of retries fails to its caller instead of waiting forever.
 */
const EXPECTED = new Set([
  "Limiting retries for the idempotent producer may invalidate EoS guarantees",
]);

/**
 * `ensureTopic` asks the broker to create every topic it needs, on every start, and a topic that
 * exists is the common answer (createTopics then resolves false). kafkajs still logs the answer
 * at error level first, as "Topic creation errors" whatever the reason, so every restart of every
 * pod wrote an error line per topic. A real failure (say, a replication factor above the broker
 * count) rejects `ensureTopic` with the broker's reason in its message (errors.ts): nothing is lost.
 */
function isExpected(entry: LogEntry): boolean {
  const message = entry.log.message;
  return EXPECTED.has(message) || message.startsWith("Response CreateTopics");
}

/** Fields of a kafkajs line worth keeping; the rest (stacks, payload dumps) is noise at warn. */
const KEPT_FIELDS = ["error", "broker", "groupId", "topic", "partition", "retryCount", "retryTime"];

interface Seen {
  level: "warn" | "error";
  namespace: string;
  message: string;
  /** Occurrences in the current window that were not written. */
  repeats: number;
}

/** A kafkajs log sink with deduplication; `flush` writes the pending repeat counts. */
export interface KafkaLogRouter {
  logCreator: logCreator;
  flush(): void;
}

/**
 * Creates the kafkajs `logCreator` for a KafkaLog.
 *
 * @example
 * const router = createKafkaLogRouter(createLogger({ component: "kafka" }), { windowMs: 10_000, linesPerWindowMax: 20 });
 * new Kafka({ brokers, clientId, logLevel: logLevel.WARN, logCreator: router.logCreator });
 */
export function createKafkaLogRouter(logger: Logger, options: KafkaLogRateOptions): KafkaLogRouter {
  const nowMs = options.nowMs ?? Date.now;
  let windowStartMs = nowMs();
  let firstLines = 0;
  let suppressed = 0;
  /** Lines seen in the current window, and those of the previous one (still "recurring"). */
  let current = new Map<string, Seen>();
  let previous = new Map<string, Seen>();

  const flush = () => {
    for (const entry of current.values()) {
      if (entry.repeats === 0) continue;
      logger[entry.level](entry.message, {
        source: "kafkajs",
        namespace: entry.namespace,
        repeated: entry.repeats,
        windowMs: options.windowMs,
      });
    }
    if (suppressed > 0) {
      logger.warn("kafkajs lines suppressed by the rate bound", {
        suppressed,
        windowMs: options.windowMs,
      });
    }
    previous = current;
    current = new Map();
    firstLines = 0;
    suppressed = 0;
    windowStartMs = nowMs();
  };

  const onEntry = (entry: LogEntry) => {
    if (entry.level > logLevel.WARN || isExpected(entry)) return;
    if (nowMs() - windowStartMs >= options.windowMs) flush();
    const level = entry.level === logLevel.ERROR ? "error" : "warn";
    const key = `${level}|${entry.namespace}|${entry.log.message}`;
    const known = current.get(key);
    if (known) {
      known.repeats += 1;
      return;
    }
    const seen: Seen = {
      level,
      namespace: entry.namespace,
      message: entry.log.message,
      repeats: 0,
    };
    current.set(key, seen);
    if (previous.has(key)) {
      // Still recurring from the last window: only its count is reported.
      seen.repeats = 1;
      return;
    }
    if (firstLines >= options.linesPerWindowMax) {
      suppressed += 1;
      return;
    }
    firstLines += 1;
    const fields: Record<string, unknown> = { source: "kafkajs", namespace: entry.namespace };
    const extra = entry.log as unknown as Record<string, unknown>;
    for (const name of KEPT_FIELDS) {
      if (extra[name] !== undefined) fields[name] = extra[name];
    }
    logger[level](entry.log.message, fields);
  };

  return { logCreator: () => onEntry, flush };
}
