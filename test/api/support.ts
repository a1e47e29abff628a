/**
 * An in-process platform for the API tests: embedded log in a temp dir, the counter and fraud use
 * cases, a champion trained the way a user trains one (the train CLI, small), and the HTTP app for
 * `app.handle(new Request(...))`. Nothing listens on a port unless a test asks for one.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHttp } from "../../actors/http/app.ts";
import { buildPlatform, type Platform } from "../../actors/platform.ts";
import { useCases } from "../../models/index.ts";
import { loadConfig } from "../../runtime/config.ts";
import { silentLogger } from "../../runtime/logger.ts";
import { waitFor } from "../support/platform-process.ts";
import { trainFraudChampion } from "../support/train-champion.ts";

export const ADMIN_TOKEN = "test-admin-token-0123456789";
export const ALLOWED_ORIGIN = "http://dashboard.example:8080";

/** Trains and registers a small fraud champion into `dataDir` (as `bun run train` does). */
export async function trainChampion(dataDir: string, seed = 3, promote = true): Promise<void> {
  const { code, stdout, stderr } = await trainFraudChampion(dataDir, {
    days: 30,
    cards: 400,
    seed,
    promote,
  });
  if (code !== 0 || !stdout.includes("registered fraud version")) {
    throw new Error(`training the test champion failed: ${stderr.slice(-500)}`);
  }
}

export interface TestPlatform {
  platform: Platform;
  app: ReturnType<typeof createHttp>["app"];
  hub: ReturnType<typeof createHttp>["hub"];
  dataDir: string;
  stop(): Promise<void>;
}

export async function startTestPlatform(
  options: { champion?: boolean; env?: Record<string, string> } = {},
): Promise<TestPlatform> {
  const dataDir = mkdtempSync(join(tmpdir(), "coelho-api-"));
  if (options.champion ?? true) await trainChampion(dataDir);
  const config = loadConfig({
    COELHO_DATA_DIR: dataDir,
    COELHO_HTTP_PORT: "0",
    COELHO_USECASES: "counter,fraud",
    COELHO_SIMULATE: "false",
    COELHO_AUTO_TRAIN: "false",
    COELHO_PARTITIONS: "2",
    COELHO_LOG_FSYNC: "never",
    COELHO_INSTANCE_ID: "api-test",
    COELHO_ADMIN_TOKEN: ADMIN_TOKEN,
    COELHO_CORS_ORIGINS: ALLOWED_ORIGIN,
    COELHO_MAX_BODY_BYTES: "4096",
    ...options.env,
  });
  const platform = await buildPlatform(config, useCases(config), { logger: silentLogger });
  await platform.root.start();
  const { app, hub, close } = createHttp(platform, { logger: silentLogger });
  await waitFor("the platform's partitions (and champion) to be ready", 30_000, async () => {
    const reasons = await platform.notReadyReasons();
    const waiting = reasons.filter((r) => !(options.champion === false && /champion/.test(r)));
    return waiting.length === 0 ? true : undefined;
  });
  return {
    platform,
    app,
    hub,
    dataDir,
    async stop() {
      close();
      await platform.root.stop(5_000);
      await platform.log.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** `app.handle` of a JSON request; the status and the parsed body. */
export async function call(
  app: TestPlatform["app"],
  method: string,
  path: string,
  init: { body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const body = init.rawBody ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
  const response = await app.handle(
    new Request(`http://localhost${path}`, {
      method,
      body,
      headers: {
        // As HTTP clients send them: the body limit reads the declared length.
        ...(body !== undefined
          ? { "content-type": "application/json", "content-length": String(body.length) }
          : {}),
        ...init.headers,
      },
    }),
  );
  const text = await response.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { text };
  }
  return { status: response.status, body: parsed, headers: response.headers };
}
