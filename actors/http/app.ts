/**
 * The HTTP face of the platform: health, readiness, Prometheus metrics, shards and per-entity
 * state. Built as an Elysia app so tests call `app.handle(new Request(...))` without a port.
 */
import { Elysia } from "elysia";
import { registry } from "../../runtime/metrics.ts";
import type { Platform } from "../platform.ts";
import { FORWARDED_HEADER, forwardEntityQuery } from "./forward.ts";

export function httpApp(platform: Platform) {
  const instance = platform.config.instanceId;
  return new Elysia()
    .get("/health/live", () => ({ status: "live", instance }))
    .get("/health/ready", async ({ set }) => {
      const reasons = await platform.notReadyReasons();
      if (reasons.length > 0) set.status = 503;
      return { status: reasons.length === 0 ? "ready" : "not ready", instance, reasons };
    })
    .get("/metrics", async ({ set }) => {
      set.headers["content-type"] = registry.contentType;
      return await registry.metrics();
    })
    .get("/api/v1/shards", async () => ({
      instance,
      log: platform.log.kind,
      shards: await platform.shardStatuses(),
      lifecycles: platform.shardLifecycles(),
      members: platform.membership.claims(),
    }))
    .get("/api/v1/entities/:usecase/:key", async ({ params, set, request }) => {
      const answer = await platform.entity(params.usecase, params.key);
      if (answer.kind === "unknown_usecase") {
        set.status = 404;
        const known = platform.useCaseNames().join(", ");
        return {
          error: `usecase "${params.usecase}" is not served here; expected one of ${known}`,
        };
      }
      if (answer.kind === "not_owned") {
        const owner = answer.owner;
        // One hop only: a forwarded query that misses means ownership is moving right now.
        if (owner && owner.instanceId !== instance && !request.headers.get(FORWARDED_HEADER)) {
          const forwarded = await forwardEntityQuery(owner, params.usecase, params.key, instance);
          if (forwarded) {
            set.status = forwarded.status;
            return forwarded.body;
          }
        }
        set.status = 503;
        set.headers["retry-after"] = "1";
        return {
          error: `partition ${answer.partition} of ${params.usecase} is moving between instances (rebalance or restore); retry shortly`,
          partition: answer.partition,
          instance,
        };
      }
      if (answer.state === null) {
        set.status = 404;
        return {
          error: `no entity "${params.key}" in usecase "${params.usecase}"`,
          partition: answer.partition,
          offset: answer.offset,
          instance,
        };
      }
      return {
        usecase: params.usecase,
        key: params.key,
        state: answer.state,
        partition: answer.partition,
        offset: answer.offset,
        instance,
      };
    });
}
