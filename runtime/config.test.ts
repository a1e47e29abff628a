import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "./config.ts";

describe("loadConfig", () => {
  test("defaults: embedded log, port 3000, ./data", () => {
    const config = loadConfig({});
    expect(config.httpPort).toBe(3000);
    expect(config.dataDir).toBe("./data");
    expect(config.kafkaBrokers).toEqual([]);
    expect(config.logFsync).toBe("always");
  });

  test("embedded log retention: 512 MiB and 7 days per partition by default, 0 for no bound", () => {
    const defaults = loadConfig({});
    expect(defaults.logRetentionBytes).toBe(512 * 1024 * 1024);
    expect(defaults.logRetentionMs).toBe(7 * 86_400_000);
    const unbounded = loadConfig({ COELHO_LOG_RETENTION_MB: "0", COELHO_LOG_RETENTION_HOURS: "0" });
    expect(unbounded.logRetentionBytes).toBeNull();
    expect(unbounded.logRetentionMs).toBeNull();
    expect(loadConfig({ COELHO_LOG_RETENTION_HOURS: "24" }).logRetentionMs).toBe(86_400_000);
  });

  test("a first start's simulated world: from its own time, or pinned to one", () => {
    expect(loadConfig({}).simulateFromMs).toBeNull();
    expect(loadConfig({ COELHO_SIMULATE_FROM: "2026-11-01T06:00:00+02:00" }).simulateFromMs).toBe(
      Date.UTC(2026, 10, 1, 4),
    );
  });

  test("parses brokers", () => {
    expect(loadConfig({ COELHO_KAFKA_BROKERS: "a:9092, b.example:19092" }).kafkaBrokers).toEqual([
      "a:9092",
      "b.example:19092",
    ]);
  });

  test("API and registry settings: token, origins, body limit, MLflow URL", () => {
    const config = loadConfig({
      COELHO_ADMIN_TOKEN: "0123456789abcdef",
      COELHO_CORS_ORIGINS: "https://ops.example, http://localhost:5173",
      COELHO_MAX_BODY_BYTES: "4096",
      COELHO_MLFLOW_URL: "http://127.0.0.1:5000/",
    });
    expect(config.adminToken).toBe("0123456789abcdef");
    expect(config.corsOrigins).toEqual(["https://ops.example", "http://localhost:5173"]);
    expect(config.maxBodyBytes).toBe(4096);
    expect(config.mlflowUrl).toBe("http://127.0.0.1:5000");
    const defaults = loadConfig({});
    expect(defaults.adminToken).toBeUndefined();
    expect(defaults.corsOrigins).toEqual([]);
    expect(defaults.mlflowUrl).toBeUndefined();
    expect(defaults.registryKeepVersions).toBe(20);
    expect(loadConfig({ COELHO_REGISTRY_KEEP_VERSIONS: "5" }).registryKeepVersions).toBe(5);
    expect(loadConfig({ COELHO_REGISTRY_KEEP_VERSIONS: "0" }).registryKeepVersions).toBeNull();
  });

  test("topic names per use case: input and labels", () => {
    const config = loadConfig({
      COELHO_INPUT_TOPICS: "fraud:payments.tx",
      COELHO_LABELS_TOPICS: "fraud:payments.chargebacks",
    });
    expect(config.inputTopics).toEqual({ fraud: "payments.tx" });
    expect(config.labelsTopics).toEqual({ fraud: "payments.chargebacks" });
    expect(loadConfig({}).labelsTopics).toEqual({});
  });

  test("Kafka TLS and SASL: off by default, on with a CA file and SCRAM credentials", () => {
    const defaults = loadConfig({});
    expect(defaults.kafkaTls).toEqual({ enabled: false, caFile: undefined });
    expect(defaults.kafkaSasl).toBeUndefined();
    const config = loadConfig({
      COELHO_KAFKA_SSL: "true",
      COELHO_KAFKA_SSL_CA_FILE: "/etc/coelho/kafka-ca/ca.crt",
      COELHO_KAFKA_SASL_MECHANISM: "scram-sha-512",
      COELHO_KAFKA_SASL_USERNAME: "coelho",
      COELHO_KAFKA_SASL_PASSWORD: "pa55word",
    });
    expect(config.kafkaTls).toEqual({ enabled: true, caFile: "/etc/coelho/kafka-ca/ca.crt" });
    expect(config.kafkaSasl).toEqual({
      mechanism: "scram-sha-512",
      username: "coelho",
      password: "pa55word",
    });
    const refused = (env: Record<string, string>, message: string) => {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(message);
    };
    refused(
      { COELHO_KAFKA_SASL_MECHANISM: "plain", COELHO_KAFKA_SASL_USERNAME: "u" },
      "COELHO_KAFKA_SASL_PASSWORD: missing; COELHO_KAFKA_SASL_MECHANISM=plain needs",
    );
    refused({ COELHO_KAFKA_SASL_PASSWORD: "p" }, "COELHO_KAFKA_SASL_MECHANISM: unset while");
    refused({ COELHO_KAFKA_SASL_MECHANISM: "gssapi" }, 'COELHO_KAFKA_SASL_MECHANISM: "gssapi"');
    refused({ COELHO_KAFKA_SSL_CA_FILE: "/ca.crt" }, "expected COELHO_KAFKA_SSL=true too");
  });

  const bad: [string, string, string][] = [
    [
      "COELHO_HTTP_PORT",
      "abc",
      'COELHO_HTTP_PORT: "abc" is not valid; expected an integer from 0 to 65535',
    ],
    ["COELHO_HTTP_PORT", "70000", 'COELHO_HTTP_PORT: "70000" is not valid'],
    [
      "COELHO_KAFKA_BROKERS",
      "localhost",
      'COELHO_KAFKA_BROKERS: "localhost" has no port; expected host:port[,host:port]',
    ],
    ["COELHO_KAFKA_BROKERS", "a:b:c", 'COELHO_KAFKA_BROKERS: "a:b:c" is not host:port'],
    [
      "COELHO_PARTITIONS",
      "0",
      'COELHO_PARTITIONS: "0" is not valid; expected an integer from 1 to 1024',
    ],
    [
      "COELHO_LOG_FSYNC",
      "sometimes",
      'COELHO_LOG_FSYNC: "sometimes" is not valid; expected one of always, interval, never',
    ],
    [
      "COELHO_LOG_RETENTION_MB",
      "-1",
      'COELHO_LOG_RETENTION_MB: "-1" is not valid; expected an integer from 0 to 1048576',
    ],
    [
      "COELHO_REGISTRY_KEEP_VERSIONS",
      "-1",
      'COELHO_REGISTRY_KEEP_VERSIONS: "-1" is not valid; expected an integer from 0 to 100000',
    ],
    ["COELHO_SIMULATE", "maybe", 'COELHO_SIMULATE: "maybe" is not valid; expected true or false'],
    [
      "COELHO_PREDICTIONS_MAX",
      "0",
      'COELHO_PREDICTIONS_MAX: "0" is not valid; expected an integer from 1 to 10000000',
    ],
    ["COELHO_INSTANCE_ID", "a b", 'COELHO_INSTANCE_ID: "a b" is not valid'],
    ["COELHO_HTTP_PRT", "3000", "COELHO_HTTP_PRT: unknown setting; expected one of"],
    ["COELHO_ADMIN_TOKEN", "short", "COELHO_ADMIN_TOKEN: is not valid; expected at least 16"],
    [
      "COELHO_CORS_ORIGINS",
      "http://a.example/path",
      'COELHO_CORS_ORIGINS: "http://a.example/path" is not an origin',
    ],
    ["COELHO_MLFLOW_URL", "mlflow:5000", 'COELHO_MLFLOW_URL: "mlflow:5000" is not valid'],
    [
      "COELHO_LABELS_TOPICS",
      "fraud:a,fraud:b",
      'COELHO_LABELS_TOPICS: use case "fraud" is given 2 topics; expected one',
    ],
    ["COELHO_LABELS_TOPICS", "fraud", 'COELHO_LABELS_TOPICS: "fraud" is not valid'],
    [
      "COELHO_SIMULATE_FROM",
      "2026-11-01",
      'COELHO_SIMULATE_FROM: "2026-11-01" is not valid; expected an ISO-8601 time with its zone',
    ],
    [
      "COELHO_SIMULATE_FROM",
      "2026-13-01T00:00:00Z",
      'COELHO_SIMULATE_FROM: "2026-13-01T00:00:00Z"',
    ],
    // Date.parse would take it as 2 March.
    [
      "COELHO_SIMULATE_FROM",
      "2026-02-30T00:00:00Z",
      'COELHO_SIMULATE_FROM: "2026-02-30T00:00:00Z" is not valid',
    ],
  ];
  for (const [name, value, message] of bad) {
    test(`${name}=${value} is refused with a message naming it`, () => {
      expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
      expect(() => loadConfig({ [name]: value })).toThrow(message);
    });
  }
});
