/**
 * Configuration from `COELHO_*` environment variables, validated at startup.
 *
 * A bad value stops startup with one line that names the variable, the value and what is
 * expected (STYLE.md), e.g.
 * `COELHO_HTTP_PORT: "abc" is not a port; expected an integer from 1 to 65535`.
 */
import { hostname } from "node:os";
import { parseIsoTimestampMs } from "./iso-timestamp.ts";

export interface Config {
  /** HTTP port for the API, metrics and health. */
  httpPort: number;
  /** Address the HTTP server binds to. */
  httpHost: string;
  /** Where the embedded log and the shard checkpoints live. */
  dataDir: string;
  /** Kafka bootstrap servers; empty means the embedded log. */
  kafkaBrokers: string[];
  /**
   * How long the group waits for a silent member (a killed pod) before moving its partitions.
   * It bounds recovery after a crash; kafkajs's default (30 s) is too slow for that.
   */
  kafkaSessionTimeoutMs: number;
  /** Consumer group and topic prefix of this deployment. */
  appId: string;
  /** This process's identity (the StatefulSet pod name). */
  instanceId: string;
  /** Partitions of each input topic the platform creates. */
  partitions: number;
  /** Entities held in memory per shard before the least recently used clean ones are passivated. */
  maxEntitiesPerShard: number;
  /** Entities idle this long are passivated. */
  entityIdleMs: number;
  /** How often a shard checkpoints its dirty state. */
  checkpointIntervalMs: number;
  /** Also checkpoint once this many events were applied since the last checkpoint. */
  checkpointMaxEvents: number;
  /**
   * Scored events kept per shard until their label arrives (predict first, then learn); the
   * oldest go first. About half a kilobyte each for fraud's 31 features.
   */
  predictionsMax: number;
  /** Upper bound on records per batch read from the log. */
  batchMax: number;
  /** Graceful shutdown: time allowed to drain mailboxes and checkpoint before giving up. */
  shutdownMs: number;
  /** Embedded log fsync policy. */
  logFsync: "always" | "interval" | "never";
  /**
   * Embedded log retention, per partition of each topic that is not compacted: the oldest sealed
   * segments go beyond this many bytes, or once older than `logRetentionMs` (time of append).
   * Null: no bound. Kafka mode leaves retention to the broker's topic settings.
   */
  logRetentionBytes: number | null;
  logRetentionMs: number | null;
  /**
   * Embedded registry: model versions kept per use case, the newest ones plus any an alias names;
   * an older one is deleted when a new one is registered. Null: every version is kept.
   */
  registryKeepVersions: number | null;
  /** Run the built-in example simulators so a fresh `bun start` has traffic. */
  simulate: boolean;
  /** Events per second each built-in simulator produces. */
  simulateRate: number;
  /**
   * Event time at which a first start's simulated live traffic begins (its history ends there):
   * the same value gives the same world, history and first champion. Null: the start's own time.
   */
  simulateFromMs: number | null;
  logLevel: "debug" | "info" | "warn" | "error";
  /** Events larger than this go to the dead-letter topic undecoded. */
  maxEventBytes: number;
  /** Per use case, topics whose records are not keyed by entity and go through re-keying. */
  unkeyedTopics: Record<string, string[]>;
  /** Per use case, its input topic when not the default `<usecase>.events`. */
  inputTopics: Record<string, string>;
  /** Per use case, its labels topic (delayed ground truth) when not the default `<usecase>.labels`. */
  labelsTopics: Record<string, string>;
  /** The URL other instances use to reach this one's HTTP API (forwarded entity queries). */
  advertisedUrl: string;
  /** The use cases this process serves. */
  usecases: string[];
  /** On a first start with no champion, train one from simulated history. */
  autoTrain: boolean;
  /**
   * Bearer token for the model administration endpoints (promote, rollback, retrain). Unset means
   * those endpoints are disabled, never open.
   */
  adminToken: string | undefined;
  /** Browser origins allowed by CORS; empty allows none (same-origin only). */
  corsOrigins: string[];
  /** Largest request body the API accepts, in bytes. */
  maxBodyBytes: number;
  /** MLflow tracking server used as the model registry; unset means the embedded SQLite registry. */
  mlflowUrl: string | undefined;
  /**
   * TLS to the Kafka brokers (COELHO_KAFKA_SSL), trusting the PEM file COELHO_KAFKA_SSL_CA_FILE
   * when set, the system's CAs otherwise. A Kubernetes deployment mounts the file from a Secret.
   */
  kafkaTls: { enabled: boolean; caFile: string | undefined };
  /** SASL to the Kafka brokers; undefined means none. Credentials come from a Secret in a pod. */
  kafkaSasl: KafkaSasl | undefined;
}

/** SASL settings of the Kafka connection (COELHO_KAFKA_SASL_MECHANISM, _USERNAME, _PASSWORD). */
export interface KafkaSasl {
  mechanism: "plain" | "scram-sha-256" | "scram-sha-512";
  username: string;
  password: string;
}

/** The use cases this build knows (folders under `models/`). */
export const KNOWN_USECASES = ["counter", "fraud"] as const;

function usecaseList(env: Env): string[] {
  const raw = env.COELHO_USECASES;
  if (raw === undefined || raw.trim() === "") return [...KNOWN_USECASES];
  const names = raw.split(",").map((n) => n.trim());
  for (const n of names) {
    if (!(KNOWN_USECASES as readonly string[]).includes(n)) {
      throw new ConfigError(
        `COELHO_USECASES: "${n}" is not a use case of this build; expected a comma list of ${KNOWN_USECASES.join(", ")}`,
      );
    }
  }
  return names;
}

/** Raised for a bad variable; `message` is the one line to print. */
export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

const MIB = 1024 * 1024;
const HOUR_MS = 3_600_000;

/** `value` in base units (`unit` each), or null for 0: the bounds where 0 means "none". */
function zeroIsNone(value: number, unit: number): number | null {
  return value === 0 ? null : value * unit;
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(
      `${name}: "${raw}" is not valid; expected an integer from ${min} to ${max} (default ${fallback})`,
    );
  }
  return value;
}

function oneOf<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name}: "${raw}" is not valid; expected one of ${allowed.join(", ")}`);
  }
  return raw as T;
}

/** An ISO-8601 time with its zone (`2026-11-01T00:00:00Z`), as ms since the epoch; null if unset. */
function isoTime(env: Env, name: string): number | null {
  const raw = env[name];
  if (raw === undefined || raw === "") return null;
  // Strict, as event times are: Date.parse would roll 2026-02-30 over to 2 March.
  const ms = parseIsoTimestampMs(raw);
  if (Number.isNaN(ms)) {
    throw new ConfigError(
      `${name}: "${raw}" is not valid; expected an ISO-8601 time with its zone, such as 2026-11-01T00:00:00Z`,
    );
  }
  return ms;
}

/**
 * `COELHO_REGISTRY_KEEP_VERSIONS` (20; 0 keeps every version): exported for the CLIs that open
 * the registry without the platform's whole configuration.
 */
export function registryKeepVersions(env: Env): number | null {
  const keep = int(env, "COELHO_REGISTRY_KEEP_VERSIONS", 20, 0, 100_000);
  return keep === 0 ? null : keep;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (["1", "true", "yes", "on"].includes(raw.toLowerCase())) return true;
  if (["0", "false", "no", "off"].includes(raw.toLowerCase())) return false;
  throw new ConfigError(`${name}: "${raw}" is not valid; expected true or false`);
}

function name(env: Env, variable: string, fallback: string): string {
  const raw = env[variable];
  if (raw === undefined || raw === "") return fallback;
  if (!/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/.test(raw)) {
    throw new ConfigError(
      `${variable}: "${raw}" is not valid; expected 1 to 63 letters, digits, ".", "_" or "-"`,
    );
  }
  return raw;
}

/** Parses `usecase:topic[,usecase:topic]` into topics per use case. */
export function parseTopicsPerUseCase(
  variable: string,
  raw: string | undefined,
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (raw === undefined || raw.trim() === "") return out;
  for (const part of raw.split(",")) {
    const match = /^([a-z0-9_-]+):([a-zA-Z0-9._-]{1,249})$/.exec(part.trim());
    if (!match?.[1] || !match[2]) {
      throw new ConfigError(
        `${variable}: "${part.trim()}" is not valid; expected usecase:topic[,usecase:topic]`,
      );
    }
    out[match[1]] = [...(out[match[1]] ?? []), match[2]];
  }
  return out;
}

/** One topic per use case, `usecase:topic[,...]`. */
function oneTopicPerUseCase(
  env: Env,
  variable: "COELHO_INPUT_TOPICS" | "COELHO_LABELS_TOPICS",
): Record<string, string> {
  const out: Record<string, string> = {};
  const parsed = parseTopicsPerUseCase(variable, env[variable]);
  for (const [usecase, topics] of Object.entries(parsed)) {
    if (topics.length > 1) {
      const more =
        variable === "COELHO_INPUT_TOPICS" ? " (more sources go in COELHO_UNKEYED_TOPICS)" : "";
      throw new ConfigError(
        `${variable}: use case "${usecase}" is given ${topics.length} topics; expected one${more}`,
      );
    }
    out[usecase] = topics[0] ?? "";
  }
  return out;
}

function url(env: Env, name: string, fallback: string): string {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^https?:\/\/[^\s/]+(:\d+)?\/?$/.test(raw)) {
    throw new ConfigError(`${name}: "${raw}" is not valid; expected http(s)://host:port`);
  }
  return raw.replace(/\/$/, "");
}

/** A token short enough to guess is refused: it guards promotion of models to production. */
function adminToken(env: Env): string | undefined {
  const raw = env.COELHO_ADMIN_TOKEN;
  if (raw === undefined || raw === "") return undefined;
  if (raw.length < 16 || /\s/.test(raw)) {
    throw new ConfigError(
      `COELHO_ADMIN_TOKEN: is not valid; expected at least 16 characters without spaces (the value is not shown)`,
    );
  }
  return raw;
}

/** Parses `http(s)://host[:port][,...]`; each origin exactly as browsers send it. */
function origins(env: Env): string[] {
  const raw = env.COELHO_CORS_ORIGINS;
  if (raw === undefined || raw.trim() === "") return [];
  return raw.split(",").map((part) => {
    const origin = part.trim();
    if (!/^https?:\/\/[a-zA-Z0-9.-]+(:\d{1,5})?$/.test(origin)) {
      throw new ConfigError(
        `COELHO_CORS_ORIGINS: "${origin}" is not an origin; expected scheme://host[:port][,...] with no path`,
      );
    }
    return origin;
  });
}

/** Parses `host:port[,host:port]`. */
export function parseBrokers(raw: string | undefined): string[] {
  if (raw === undefined || raw.trim() === "") return [];
  return raw.split(",").map((part) => {
    const broker = part.trim();
    const match = /^([a-zA-Z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(broker);
    const port = match ? Number(match[2]) : 0;
    if (!match || port < 1 || port > 65535) {
      const why = broker.includes(":") ? "is not host:port" : "has no port";
      throw new ConfigError(
        `COELHO_KAFKA_BROKERS: "${broker}" ${why}; expected host:port[,host:port]`,
      );
    }
    return broker;
  });
}

function kafkaTls(env: Env): Config["kafkaTls"] {
  const enabled = bool(env, "COELHO_KAFKA_SSL", false);
  const caFile = env.COELHO_KAFKA_SSL_CA_FILE?.trim() || undefined;
  if (caFile && !enabled) {
    throw new ConfigError(
      `COELHO_KAFKA_SSL_CA_FILE: set while COELHO_KAFKA_SSL is off; expected COELHO_KAFKA_SSL=true too`,
    );
  }
  return { enabled, caFile };
}

/** The password is never echoed back in an error. */
function kafkaSasl(env: Env): KafkaSasl | undefined {
  const mechanism = oneOf(env, "COELHO_KAFKA_SASL_MECHANISM", "", [
    "",
    "plain",
    "scram-sha-256",
    "scram-sha-512",
  ] as const);
  const username = env.COELHO_KAFKA_SASL_USERNAME ?? "";
  const password = env.COELHO_KAFKA_SASL_PASSWORD ?? "";
  if (mechanism === "") {
    if (username !== "" || password !== "") {
      throw new ConfigError(
        `COELHO_KAFKA_SASL_MECHANISM: unset while a SASL username or password is given; expected plain, scram-sha-256 or scram-sha-512`,
      );
    }
    return undefined;
  }
  for (const [name, value] of [
    ["COELHO_KAFKA_SASL_USERNAME", username],
    ["COELHO_KAFKA_SASL_PASSWORD", password],
  ]) {
    if (value === "") {
      throw new ConfigError(
        `${name}: missing; COELHO_KAFKA_SASL_MECHANISM=${mechanism} needs a username and a password`,
      );
    }
  }
  return { mechanism, username, password };
}

/** Reads and validates the configuration; throws ConfigError with a one-line message. */
export function loadConfig(env: Env = process.env): Config {
  const known = new Set([
    "COELHO_HTTP_PORT",
    "COELHO_HTTP_HOST",
    "COELHO_DATA_DIR",
    "COELHO_KAFKA_BROKERS",
    "COELHO_KAFKA_SESSION_TIMEOUT_MS",
    "COELHO_APP_ID",
    "COELHO_INSTANCE_ID",
    "COELHO_PARTITIONS",
    "COELHO_MAX_ENTITIES_PER_SHARD",
    "COELHO_ENTITY_IDLE_MS",
    "COELHO_CHECKPOINT_INTERVAL_MS",
    "COELHO_CHECKPOINT_MAX_EVENTS",
    "COELHO_PREDICTIONS_MAX",
    "COELHO_BATCH_MAX",
    "COELHO_SHUTDOWN_MS",
    "COELHO_LOG_FSYNC",
    "COELHO_LOG_RETENTION_MB",
    "COELHO_LOG_RETENTION_HOURS",
    "COELHO_REGISTRY_KEEP_VERSIONS",
    "COELHO_SIMULATE",
    "COELHO_SIMULATE_RATE",
    "COELHO_SIMULATE_FROM",
    "COELHO_LOG_LEVEL",
    "COELHO_MAX_EVENT_BYTES",
    "COELHO_UNKEYED_TOPICS",
    "COELHO_INPUT_TOPICS",
    "COELHO_LABELS_TOPICS",
    "COELHO_ADVERTISED_URL",
    "COELHO_USECASES",
    "COELHO_AUTO_TRAIN",
    "COELHO_ADMIN_TOKEN",
    "COELHO_CORS_ORIGINS",
    "COELHO_MAX_BODY_BYTES",
    "COELHO_MLFLOW_URL",
    "COELHO_KAFKA_SSL",
    "COELHO_KAFKA_SSL_CA_FILE",
    "COELHO_KAFKA_SASL_MECHANISM",
    "COELHO_KAFKA_SASL_USERNAME",
    "COELHO_KAFKA_SASL_PASSWORD",
  ]);
  // A misspelt variable is silently ignored in most systems; here it stops startup, because a
  // typo in a deployment's values would otherwise run with defaults nobody chose.
  for (const key of Object.keys(env)) {
    if (key.startsWith("COELHO_") && !known.has(key) && !key.startsWith("COELHO_TEST_")) {
      if (key === "COELHO_CACHE_DIR" || key.startsWith("COELHO_KAFKA_")) continue;
      throw new ConfigError(
        `${key}: unknown setting; expected one of ${[...known].sort().join(", ")}`,
      );
    }
  }
  const dataDir = env.COELHO_DATA_DIR?.trim() || "./data";
  const host = env.COELHO_HTTP_HOST?.trim() || "127.0.0.1";
  const httpPort = int(env, "COELHO_HTTP_PORT", 3000, 0, 65535);
  const instanceId = name(env, "COELHO_INSTANCE_ID", hostname().slice(0, 63) || "local");
  const advertisedHost = host === "0.0.0.0" || host === "::" ? hostname() : host;
  return {
    httpPort,
    httpHost: host,
    dataDir,
    kafkaBrokers: parseBrokers(env.COELHO_KAFKA_BROKERS),
    kafkaSessionTimeoutMs: int(env, "COELHO_KAFKA_SESSION_TIMEOUT_MS", 10_000, 6_000, 300_000),
    appId: name(env, "COELHO_APP_ID", "coelho"),
    instanceId,
    partitions: int(env, "COELHO_PARTITIONS", 3, 1, 1024),
    maxEntitiesPerShard: int(env, "COELHO_MAX_ENTITIES_PER_SHARD", 1_000_000, 1, 100_000_000),
    entityIdleMs: int(env, "COELHO_ENTITY_IDLE_MS", 3_600_000, 1000, 30 * 86_400_000),
    checkpointIntervalMs: int(env, "COELHO_CHECKPOINT_INTERVAL_MS", 1000, 10, 600_000),
    checkpointMaxEvents: int(env, "COELHO_CHECKPOINT_MAX_EVENTS", 100_000, 1, 100_000_000),
    predictionsMax: int(env, "COELHO_PREDICTIONS_MAX", 200_000, 1, 10_000_000),
    batchMax: int(env, "COELHO_BATCH_MAX", 2000, 1, 100_000),
    shutdownMs: int(env, "COELHO_SHUTDOWN_MS", 10_000, 100, 600_000),
    logFsync: oneOf(env, "COELHO_LOG_FSYNC", "always", ["always", "interval", "never"] as const),
    logRetentionBytes: zeroIsNone(int(env, "COELHO_LOG_RETENTION_MB", 512, 0, 1_048_576), MIB),
    logRetentionMs: zeroIsNone(int(env, "COELHO_LOG_RETENTION_HOURS", 168, 0, 87_600), HOUR_MS),
    registryKeepVersions: registryKeepVersions(env),
    simulate: bool(env, "COELHO_SIMULATE", true),
    simulateRate: int(env, "COELHO_SIMULATE_RATE", 200, 1, 1_000_000),
    simulateFromMs: isoTime(env, "COELHO_SIMULATE_FROM"),
    logLevel: oneOf(env, "COELHO_LOG_LEVEL", "info", ["debug", "info", "warn", "error"] as const),
    maxEventBytes: int(env, "COELHO_MAX_EVENT_BYTES", 65_536, 64, 16 * 1024 * 1024),
    unkeyedTopics: parseTopicsPerUseCase("COELHO_UNKEYED_TOPICS", env.COELHO_UNKEYED_TOPICS),
    inputTopics: oneTopicPerUseCase(env, "COELHO_INPUT_TOPICS"),
    labelsTopics: oneTopicPerUseCase(env, "COELHO_LABELS_TOPICS"),
    advertisedUrl: url(env, "COELHO_ADVERTISED_URL", `http://${advertisedHost}:${httpPort}`),
    usecases: usecaseList(env),
    autoTrain: bool(env, "COELHO_AUTO_TRAIN", true),
    adminToken: adminToken(env),
    corsOrigins: origins(env),
    maxBodyBytes: int(env, "COELHO_MAX_BODY_BYTES", 1_048_576, 1024, 64 * 1024 * 1024),
    mlflowUrl: env.COELHO_MLFLOW_URL ? url(env, "COELHO_MLFLOW_URL", "") : undefined,
    kafkaTls: kafkaTls(env),
    kafkaSasl: kafkaSasl(env),
  };
}
