/**
 * What the platform's control plane is doing: shards and their owners, every registered state
 * machine (shard lifecycles, rollouts, retraining, drift detectors), and per use case its drift
 * detectors with the recent drift events.
 */
import { Elysia, t } from "elysia";
import { machines } from "../../../runtime/introspection/machines.ts";
import type { Platform } from "../../platform.ts";
import type { RecentEvents } from "../live/recent-events.ts";
import { unknownUsecase, usecaseParam } from "./entities.ts";

export function introspectionRoutes(platform: Platform, recent: RecentEvents) {
  const instance = platform.config.instanceId;
  return new Elysia({ name: "introspection" })
    .get(
      "/api/v1/shards",
      async () => ({
        instance,
        log: platform.log.kind,
        shards: await platform.shardStatuses(),
        lifecycles: platform.shardLifecycles(),
        members: platform.membership.claims(),
      }),
      {
        detail: {
          summary: "This instance's shards and every member's partitions",
          tags: ["platform"],
        },
      },
    )
    .get("/api/v1/machines", () => ({ instance, machines: machines.list() }), {
      detail: {
        summary: "Current states of the state machines (shards, rollout, retraining, detectors)",
        tags: ["platform"],
      },
    })
    .get(
      "/api/v1/drift/:usecase",
      ({ params, set }) => {
        if (!platform.useCaseNames().includes(params.usecase)) {
          set.status = 404;
          return unknownUsecase(platform, params.usecase);
        }
        return {
          usecase: params.usecase,
          instance,
          detectors: machines.list({ kind: "drift-detector", usecase: params.usecase }),
          events: recent.list("drift", params.usecase),
        };
      },
      {
        params: t.Object({ usecase: usecaseParam(platform) }),
        detail: { summary: "Drift detectors' states and the recent drift events", tags: ["drift"] },
      },
    );
}
