/**
 * Runs the platform (`actors/main.ts`) as a child process, as a user or a pod would, for tests
 * that kill it, restart it and look at what it left on disk.
 */

import { join } from "node:path";
import { type Subprocess, spawn } from "bun";

const ROOT = join(import.meta.dir, "..", "..");

/** A port nobody listens on right now. */
export function freePort(): number {
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
  const port = server.port ?? 0;
  server.stop(true);
  return port;
}

export interface PlatformProcess {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  port: number;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** GET a JSON path on the process's HTTP server. */
  get<T>(path: string): Promise<{ status: number; body: T }>;
}

export function startPlatform(env: Record<string, string>): PlatformProcess {
  const port = Number(env.COELHO_HTTP_PORT ?? freePort());
  const proc = spawn(["bun", join(ROOT, "actors", "main.ts")], {
    cwd: ROOT,
    // The runtime's tests use the counter use case only unless they say otherwise.
    env: {
      ...cleanEnv(),
      COELHO_HTTP_PORT: String(port),
      COELHO_SIMULATE: "false",
      COELHO_USECASES: "counter",
      ...env,
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let errText = "";
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stderr) errText += decoder.decode(chunk);
  })();
  void (async () => {
    for await (const _ of proc.stdout) {
      // drained so the child never blocks on a full pipe
    }
  })();
  return {
    proc,
    port,
    stderr: () => errText,
    async get<T>(path: string) {
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: response.status, body: (await response.json()) as T };
    },
  };
}

/** The parent's environment without COELHO_ settings, so a developer's shell cannot leak in. */
export function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("COELHO_")) env[key] = value;
  }
  return env;
}

/** Polls `check` every 50 ms until it returns a value, or fails after `timeoutMs` with `what`. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await Bun.sleep(50);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ""}`,
  );
}
