/** Liveness, readiness (with its reasons) and the Prometheus metrics. */
import { Elysia, t } from "elysia";
import { registry } from "../../../runtime/metrics.ts";
import type { Platform } from "../../platform.ts";

export function healthRoutes(platform: Platform) {
  const instance = platform.config.instanceId;
  return new Elysia({ name: "health" })
    .get("/health/live", () => ({ status: "live", instance }), {
      detail: { summary: "Liveness: the process answers", tags: ["health"] },
      response: t.Object({ status: t.String(), instance: t.String() }),
    })
    .get(
      "/health/ready",
      async ({ set }) => {
        const reasons = await platform.notReadyReasons();
        const degraded = platform.degradedReasons();
        if (reasons.length > 0) set.status = 503;
        const status =
          reasons.length > 0 ? "not ready" : degraded.length > 0 ? "degraded" : "ready";
        return { status, instance, reasons, degraded };
      },
      {
        detail: {
          summary:
            "Readiness; 503 lists why not (no champion, restoring partitions, broker); a degraded instance (registry unreachable) is 200 with status degraded and its reasons",
          tags: ["health"],
        },
      },
    )
    .get(
      "/metrics",
      async ({ set }) => {
        set.headers["content-type"] = registry.contentType;
        return await registry.metrics();
      },
      { detail: { summary: "Prometheus metrics (text exposition format)", tags: ["health"] } },
    );
}
