/**
 * The HTTP face of the platform: health, readiness, Prometheus metrics and per-entity state.
 * Built as an Elysia app so tests call `app.handle(new Request(...))` without a port.
 */
import { Elysia } from "elysia";
import { registry } from "../../runtime/metrics.ts";
import type { Platform } from "../platform.ts";

export function httpApp(platform: Platform) {
  return new Elysia()
    .get("/health/live", () => ({ status: "live", instance: platform.config.instanceId }))
    .get("/health/ready", async ({ set }) => {
      const reasons = await platform.notReadyReasons();
      if (reasons.length > 0) set.status = 503;
      return { status: reasons.length === 0 ? "ready" : "not ready", reasons };
    })
    .get("/metrics", async ({ set }) => {
      set.headers["content-type"] = registry.contentType;
      return await registry.metrics();
    })
    .get("/api/v1/shards", async () => ({
      instance: platform.config.instanceId,
      log: platform.log.kind,
      shards: await platform.shardStatuses(),
    }))
    .get("/api/v1/entities/:usecase/:key", async ({ params, set }) => {
      const answer = await platform.entity(params.usecase, params.key);
      if (answer.kind === "unknown_usecase") {
        set.status = 404;
        return {
          error: `usecase "${params.usecase}" is not served here; expected one of ${platform.useCaseNames().join(", ")}`,
        };
      }
      if (answer.kind === "not_owned") {
        set.status = 503;
        set.headers["retry-after"] = "1";
        return {
          error: `partition ${answer.partition} is not assigned to this instance right now`,
        };
      }
      if (answer.state === null) {
        set.status = 404;
        return {
          error: `no entity "${params.key}" in usecase "${params.usecase}"`,
          partition: answer.partition,
          offset: answer.offset,
          instance: platform.config.instanceId,
        };
      }
      return {
        usecase: params.usecase,
        key: params.key,
        state: answer.state,
        partition: answer.partition,
        offset: answer.offset,
        instance: platform.config.instanceId,
      };
    });
}
