/**
 * The real Kafka broker the integration tests use: `scripts/kafka/up.sh` (provisioned from Maven
 * Central on first use), unless COELHO_KAFKA_BROKERS names another one. Started once per test
 * process and shared by every test file; stopped after the last file if this process started it.
 */
import { spawnSync } from "bun";
import { type KafkaLog, openKafkaLog } from "../../runtime/log/kafka/index.ts";
import { silentLogger } from "../../runtime/logger.ts";

const REPO = new URL("../..", import.meta.url).pathname;

let bootstrap: string | null = null;
let started = false;

function run(script: string): { stdout: string; stderr: string } {
  const result = spawnSync(["bash", script], { cwd: REPO, stdout: "pipe", stderr: "pipe" });
  const stdout = result.stdout.toString();
  const stderr = result.stderr.toString();
  if (result.exitCode !== 0) throw new Error(`${script} exited ${result.exitCode}:\n${stderr}`);
  return { stdout, stderr };
}

/** True when the tests may restart the broker (it is scripts/kafka's, not an external one). */
export function brokerIsOurs(): boolean {
  return !process.env.COELHO_KAFKA_BROKERS;
}

/** The bootstrap address of a running broker, starting one if needed. */
export function ensureBroker(): string {
  if (bootstrap) return bootstrap;
  const external = process.env.COELHO_KAFKA_BROKERS;
  if (external) {
    bootstrap = external;
    return bootstrap;
  }
  const { stdout, stderr } = run("scripts/kafka/up.sh");
  const address = stdout.trim().split("\n").pop();
  if (!address) throw new Error(`scripts/kafka/up.sh printed no bootstrap address:\n${stderr}`);
  bootstrap = address;
  started = stderr.includes("starting broker") && !process.env.COELHO_KAFKA_KEEP;
  return bootstrap;
}

/**
 * Stops the broker if this test run started it (COELHO_KAFKA_KEEP=1 keeps it). Called once after
 * every test file by test/support/teardown.ts: bun test fires no process exit hooks.
 */
export function stopBrokerIfStarted(): void {
  if (!started) return;
  started = false;
  bootstrap = null;
  run("scripts/kafka/down.sh");
}

/** Stops and starts the broker on the same data (a broker restart mid-stream). */
export function restartBroker(): void {
  if (!brokerIsOurs()) throw new Error("cannot restart an external broker (COELHO_KAFKA_BROKERS)");
  run("scripts/kafka/restart.sh");
}

/** A name unique to this test run, for topics, groups and app ids. */
export function uniqueName(what: string): string {
  return `${what}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** The test broker's addresses (COELHO_KAFKA_BROKERS may list several), starting one if needed. */
export function brokerList(): string[] {
  return ensureBroker()
    .split(",")
    .map((b) => b.trim());
}

/** A quiet KafkaLog on the test broker (started if needed), with a client id unique to `what`. */
export async function openTestKafkaLog(what: string): Promise<{ brokers: string; log: KafkaLog }> {
  const log = await openKafkaLog({
    brokers: brokerList(),
    clientId: uniqueName(what),
    logger: silentLogger,
  });
  return { brokers: ensureBroker(), log };
}
