/**
 * A throwaway MLflow tracking server for tests: provisioned and started by scripts/mlflow/up.sh on
 * a port of LIFECYCLE's range (19600-19649), with its own data directory, stopped (and its data
 * deleted) by `stop()`.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runToEnd } from "../support/run-to-end.ts";

const SCRIPTS = join(import.meta.dir, "..", "..", "scripts", "mlflow");

export interface MlflowServer {
  url: string;
  port: number;
  /** Stops the server and deletes its data. */
  stop(): Promise<void>;
  /** Stops the server, keeping its data (an outage). */
  pause(): Promise<void>;
  /** Starts it again on the same port and data (the outage ends). */
  resume(): Promise<void>;
}

async function run(script: string, env: Record<string, string>): Promise<string> {
  const { code, stdout, stderr } = await runToEnd(["bash", join(SCRIPTS, script)], {
    env: { ...process.env, ...env },
  });
  if (code !== 0) throw new Error(`scripts/mlflow/${script} failed (${code}):\n${stderr}`);
  return stdout.trim().split("\n").pop() ?? "";
}

/** Starts a fresh server on `port` (provisioning MLflow first when the cache lacks it). */
export async function startMlflow(port: number): Promise<MlflowServer> {
  const env = {
    COELHO_MLFLOW_PORT: String(port),
    COELHO_MLFLOW_DATA_DIR: mkdtempSync(join(tmpdir(), `coelho-mlflow-${port}-`)),
  };
  // A server left by an interrupted run on this port is stopped first: tests start clean.
  await run("down.sh", env);
  const url = await run("up.sh", env);
  return {
    url,
    port,
    stop: async () => {
      await run("down.sh", { ...env, COELHO_MLFLOW_WIPE: "1" });
    },
    pause: async () => {
      await run("down.sh", env);
    },
    resume: async () => {
      await run("up.sh", env);
    },
  };
}
