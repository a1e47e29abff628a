/**
 * The HTTP face of the platform: health, readiness, Prometheus metrics, scoring on request,
 * per-entity state, models (admin behind a token), drift and state machines, the OpenAPI document
 * generated from the routes' schemas, the live WebSocket `/ws`, and the dashboard at `/`.
 * Built as an Elysia app so tests call `app.handle(new Request(...))` without a port.
 * See docs/api.md and docs/dashboard.md.
 */

import { Elysia } from "elysia";
import pkg from "../../package.json" with { type: "json" };
import { platformEvents } from "../../runtime/introspection/platform-events.ts";
import { type Logger, log as rootLogger } from "../../runtime/logger.ts";
import type { Platform } from "../platform.ts";
import { bodyLimit } from "./body-limit.ts";
import { cors } from "./cors.ts";
import { dashboardRoutes } from "./dashboard-routes.ts";
import { errorHandling } from "./errors.ts";
import {
  CLIENT_MESSAGE_BYTES_MAX,
  LiveHub,
  type LiveHubOptions,
  type LiveSocket,
} from "./live/hub.ts";
import { RecentEvents } from "./live/recent-events.ts";
import { openApiDocument } from "./openapi.ts";
import { deadLetterRoutes } from "./routes/dead-letters.ts";
import { entityRoutes } from "./routes/entities.ts";
import { healthRoutes } from "./routes/health.ts";
import { introspectionRoutes } from "./routes/introspection.ts";
import { modelRoutes } from "./routes/models.ts";
import { scoreRoutes } from "./routes/score.ts";

/** Idle WebSocket clients are pinged by Bun and closed after this many seconds of silence. */
const WS_IDLE_TIMEOUT_S = 60;

/** Bun's socket under Elysia's wrapper (Elysia's type omits getBufferedAmount, which Bun has). */
function socketOf(ws: { raw: unknown }): LiveSocket {
  return ws.raw as LiveSocket;
}

export interface HttpOptions {
  logger?: Logger;
  /** Live stream settings (tests make the send buffer small). */
  live?: Pick<LiveHubOptions, "bufferedBytesMax">;
}

/**
 * The app, its live hub (for tests and benchmarks that look at the hub's clients), and `close`
 * for an app that never listened (a listening one closes on `stop()`).
 */
export function createHttp(platform: Platform, options: HttpOptions = {}) {
  const logger = options.logger ?? rootLogger.child({ component: "http" });
  const recent = new RecentEvents(platformEvents);
  const hub = new LiveHub({ platform, events: platformEvents, logger, ...options.live });
  /** Closes the live clients and unsubscribes (also on the server's stop). */
  const close = () => {
    hub.shutdown();
    recent.close();
  };
  const app = new Elysia({
    serve: { maxRequestBodySize: platform.config.maxBodyBytes },
    websocket: { maxPayloadLength: CLIENT_MESSAGE_BYTES_MAX, idleTimeout: WS_IDLE_TIMEOUT_S },
  })
    .use(errorHandling(logger))
    .use(bodyLimit(platform.config.maxBodyBytes))
    .use(cors(platform.config.corsOrigins))
    .use(healthRoutes(platform))
    .use(entityRoutes(platform))
    .use(scoreRoutes(platform))
    .use(modelRoutes(platform))
    .use(introspectionRoutes(platform, recent))
    .use(deadLetterRoutes(platform))
    .use(dashboardRoutes(logger))
    .ws("/ws", {
      open: (ws) => hub.open(socketOf(ws)),
      message: (ws, message) => hub.message(socketOf(ws), message),
      close: (ws) => hub.close(socketOf(ws)),
    })
    .onStop(() => close());
  // Built on first request: by then every route above is registered.
  let document: Record<string, unknown> | null = null;
  const schemas = Object.assign(
    {},
    ...platform.useCaseNames().map((name) => platform.scoring(name)?.api.schemas ?? {}),
  ) as Record<string, unknown>;
  app.get(
    "/openapi.json",
    () => (document ??= openApiDocument(app, { version: pkg.version, schemas })),
    {
      detail: { hide: true },
    },
  );
  return { app, hub, close };
}

export function httpApp(platform: Platform, options: HttpOptions = {}) {
  return createHttp(platform, options).app;
}
