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
        if (reasons.length > 0) set.status = 503;
        return { status: reasons.length === 0 ? "ready" : "not ready", instance, reasons };
      },
      {
        detail: {
          summary: "Readiness; 503 lists why not (no champion, restoring partitions, broker)",
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
