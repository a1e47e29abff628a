/**
 * Options of a KafkaLog, their defaults, and their validation.
 */
import { ValidationError } from "../../errors.ts";
import type { Logger } from "../../logger.ts";

/** Bounded exponential backoff for every kafkajs client of a KafkaLog. */
export interface KafkaRetryOptions {
  /** Retries after the first attempt. */
  retries: number;
  initialRetryTimeMs: number;
  maxRetryTimeMs: number;
}

export interface KafkaConsumerTuning {
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  rebalanceTimeoutMs: number;
  /**
   * Longest a fetch waits on the broker for data. Also how long the consumer idles when all its
   * partitions are paused, so it bounds the delay between `resume` (or the end of `onAssigned`)
   * and the next fetch.
   */
  maxWaitTimeMs: number;
}

export interface KafkaLogOptions {
  /** Bootstrap brokers, `host:port` each. */
  brokers: string[];
  /** Names this process to the brokers (logs, quotas); consumers and readers derive theirs from it. */
  clientId: string;
  /** Replicas of the topics `ensureTopic` creates; -1 takes the broker's `default.replication.factor`. */
  replicationFactor?: number;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  retry?: Partial<KafkaRetryOptions>;
  consumer?: Partial<KafkaConsumerTuning>;
  /** Where kafkajs's warnings and errors go (rate-bounded); defaults to the runtime logger. */
  logger?: Logger;
  /** Deduplication window of kafkajs's log lines. */
  logWindowMs?: number;
  logLinesPerWindowMax?: number;
  /**
   * Called when a group consumer gives up for good (kafkajs will not restart it): its partitions
   * were revoked and it takes no more input. The owner decides (DESIGN.md: a failure goes to the
   * supervisor).
   */
  onConsumerFailure?: (group: string, error: Error) => void;
  /** TLS to the brokers: true trusts the system's CAs; `ca` lists the PEM certificates to trust. */
  ssl?: boolean | { ca: string[] };
  /** SASL authentication, passed to kafkajs as is. */
  sasl?: {
    mechanism: "plain" | "scram-sha-256" | "scram-sha-512";
    username: string;
    password: string;
  };
}

/** KafkaLogOptions with every default filled in. */
export interface ResolvedKafkaLogOptions {
  brokers: string[];
  clientId: string;
  replicationFactor: number;
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
  retry: KafkaRetryOptions;
  consumer: KafkaConsumerTuning;
  logger: Logger | undefined;
  logWindowMs: number;
  logLinesPerWindowMax: number;
  onConsumerFailure: ((group: string, error: Error) => void) | undefined;
  ssl: KafkaLogOptions["ssl"];
  sasl: KafkaLogOptions["sasl"];
}

/**
 * Defaults. The retry budget (about 20 s of backoff) outlasts a broker restart, so a restart is a
 * pause for callers, not an error; a broker down for longer fails the call.
 */
export const KAFKA_DEFAULTS = {
  replicationFactor: -1,
  connectionTimeoutMs: 3_000,
  requestTimeoutMs: 30_000,
  retry: { retries: 8, initialRetryTimeMs: 200, maxRetryTimeMs: 5_000 },
  consumer: {
    sessionTimeoutMs: 30_000,
    heartbeatIntervalMs: 3_000,
    rebalanceTimeoutMs: 60_000,
    maxWaitTimeMs: 500,
  },
  logWindowMs: 10_000,
  logLinesPerWindowMax: 20,
} as const;

const BROKER = /^([a-zA-Z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/;

function positiveInt(path: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ValidationError(path, `${value} is not valid; expected a positive integer`);
  }
  return value;
}

/**
 * Fills in defaults and validates.
 * @throws ValidationError naming the option, the value and what is expected.
 */
export function resolveOptions(options: KafkaLogOptions): ResolvedKafkaLogOptions {
  if (!Array.isArray(options.brokers) || options.brokers.length === 0) {
    throw new ValidationError("brokers", "is empty; expected host:port[,host:port]");
  }
  for (const broker of options.brokers) {
    const match = BROKER.exec(broker);
    const port = match ? Number(match[2]) : 0;
    if (!match || port < 1 || port > 65535) {
      const why = broker.includes(":") ? "is not host:port" : "has no port";
      throw new ValidationError("brokers", `"${broker}" ${why}; expected host:port[,host:port]`);
    }
  }
  if (!options.clientId || !/^[a-zA-Z0-9._-]+$/.test(options.clientId)) {
    throw new ValidationError(
      "clientId",
      `"${options.clientId}" is not valid; expected letters, digits, ".", "_" or "-"`,
    );
  }
  const replicationFactor = options.replicationFactor ?? KAFKA_DEFAULTS.replicationFactor;
  if (replicationFactor !== -1) positiveInt("replicationFactor", replicationFactor);
  const retry = { ...KAFKA_DEFAULTS.retry, ...options.retry };
  positiveInt("retry.retries", retry.retries);
  positiveInt("retry.initialRetryTimeMs", retry.initialRetryTimeMs);
  positiveInt("retry.maxRetryTimeMs", retry.maxRetryTimeMs);
  const consumer = { ...KAFKA_DEFAULTS.consumer, ...options.consumer };
  for (const [name, value] of Object.entries(consumer)) positiveInt(`consumer.${name}`, value);
  if (consumer.heartbeatIntervalMs >= consumer.sessionTimeoutMs) {
    throw new ValidationError(
      "consumer.heartbeatIntervalMs",
      `${consumer.heartbeatIntervalMs} is not below sessionTimeoutMs ${consumer.sessionTimeoutMs}; expected about a third of it`,
    );
  }
  return {
    brokers: [...options.brokers],
    clientId: options.clientId,
    replicationFactor,
    connectionTimeoutMs: positiveInt(
      "connectionTimeoutMs",
      options.connectionTimeoutMs ?? KAFKA_DEFAULTS.connectionTimeoutMs,
    ),
    requestTimeoutMs: positiveInt(
      "requestTimeoutMs",
      options.requestTimeoutMs ?? KAFKA_DEFAULTS.requestTimeoutMs,
    ),
    retry,
    consumer,
    logger: options.logger,
    logWindowMs: positiveInt("logWindowMs", options.logWindowMs ?? KAFKA_DEFAULTS.logWindowMs),
    logLinesPerWindowMax: positiveInt(
      "logLinesPerWindowMax",
      options.logLinesPerWindowMax ?? KAFKA_DEFAULTS.logLinesPerWindowMax,
    ),
    onConsumerFailure: options.onConsumerFailure,
    ssl: options.ssl,
    sasl: options.sasl,
  };
}

/** The kafkajs `retry` option for these settings. */
export function kafkajsRetry(retry: KafkaRetryOptions): {
  retries: number;
  initialRetryTime: number;
  maxRetryTime: number;
  factor: number;
  multiplier: number;
} {
  // factor and multiplier are given explicitly: kafkajs swaps in tiny test defaults when
  // NODE_ENV=test, which `bun test` sets.
  return {
    retries: retry.retries,
    initialRetryTime: retry.initialRetryTimeMs,
    maxRetryTime: retry.maxRetryTimeMs,
    factor: 0.2,
    multiplier: 2,
  };
}
