/**
 * Model administration: `GET /api/v1/models/<usecase>` (versions, aliases, metrics, lineage) and,
 * behind the admin token, `POST .../promote`, `.../rollback`, `.../retrain`.
 *
 * Promote and rollback go through the use case's lifecycle when it registered a handler (its
 * rollout machine decides); otherwise they move the registry's `champion` alias directly, and every
 * instance's champion watcher picks the change up within its poll interval. Retrain exists only
 * as a registered command. A command that refuses (it throws) answers 409 with its reason.
 */

import { Elysia, t } from "elysia";
import { topFeatures } from "../../../models/explain/importance.ts";
import { ValidationError as RuntimeValidationError } from "../../../runtime/errors.ts";
import { commands } from "../../../runtime/introspection/commands.ts";
import { platformEvents } from "../../../runtime/introspection/platform-events.ts";
import type { Platform } from "../../platform.ts";
import { adminGuard } from "../admin-auth.ts";
import { unknownUsecase, usecaseParam } from "./entities.ts";

/** Versions listed at most (newest first); the registry's own cap is 1000. */
const VERSIONS_LISTED_MAX = 50;
/** Features listed per version under `relies_on`. */
const RELIES_ON_MAX = 5;

const AdminBody = t.Optional(
  t.Object(
    {
      version: t.Optional(
        t.Integer({ minimum: 1, description: "The version to serve (default: see the route)" }),
      ),
      reason: t.Optional(t.String({ maxLength: 500, description: "Why, for the audit trail" })),
    },
    { additionalProperties: false },
  ),
);

type Command = "promote" | "rollback" | "retrain";

export function modelRoutes(platform: Platform) {
  const guard = adminGuard(platform.config.adminToken);
  const registry = platform.registry;
  const serves = (usecase: string) =>
    registry !== null && platform.useCaseNames().includes(usecase) && platform.scoring(usecase);

  /** Moves the champion alias without a lifecycle handler; the answer, or an error status. */
  async function moveChampion(usecase: string, command: "promote" | "rollback", version?: number) {
    if (!registry) throw new Error("no registry");
    const current = await registry.alias(usecase, "champion");
    let target = version;
    if (target === undefined && command === "promote") {
      target = (await registry.alias(usecase, "challenger"))?.version;
      if (target === undefined) {
        return conflict(`${usecase} has no challenger to promote; give {"version": n}`);
      }
    }
    if (target === undefined) {
      // Roll back to the newest version older than the current champion.
      const older = (await registry.list(usecase, { limit: 1000 })).filter(
        (v) => current === null || v.version < current.version,
      );
      target = older[0]?.version;
      if (target === undefined) {
        return conflict(`${usecase} has no version older than the champion to roll back to`);
      }
    }
    if (!(await registry.get(usecase, target))) {
      return {
        status: 404,
        body: { error: `${usecase} has no version ${target}`, code: "UNKNOWN_VERSION" },
      };
    }
    await registry.setAlias(usecase, "champion", target);
    const challenger = await registry.alias(usecase, "challenger");
    if (command === "promote" && challenger?.version === target) {
      await registry.deleteAlias(usecase, "challenger");
    }
    const previous = current?.version ?? null;
    platformEvents.publish("model", { action: command, version: target, previous }, usecase);
    return {
      status: 200,
      body: { usecase, action: command, champion: target, previous, via: "registry" },
    };
  }

  function conflict(error: string) {
    return { status: 409, body: { error, code: "CONFLICT" } };
  }

  const admin =
    (command: Command) =>
    async ({
      params,
      body,
      request,
      set,
    }: {
      params: { usecase: string };
      body: { version?: number; reason?: string } | null | undefined;
      request: Request;
      set: { status?: number | string };
    }) => {
      const denied = guard(request);
      if (denied) {
        set.status = denied.status;
        return denied.body;
      }
      if (!serves(params.usecase)) {
        set.status = 404;
        return unknownUsecase(platform, params.usecase);
      }
      const args: Record<string, unknown> = { ...(body ?? {}), requestedBy: "api" };
      if (commands.has(params.usecase, command)) {
        try {
          const result = await commands.run(params.usecase, command, args);
          return { usecase: params.usecase, action: command, via: "lifecycle", ...result };
        } catch (error) {
          if (error instanceof RuntimeValidationError) throw error;
          set.status = 409;
          return { error: `${command} refused: ${(error as Error).message}`, code: "CONFLICT" };
        }
      }
      if (command === "retrain") {
        set.status = 404;
        return {
          error: `retraining is not available for ${params.usecase} on this instance (no retraining loop registered; it runs on the leader)`,
          code: "COMMAND_NOT_AVAILABLE",
        };
      }
      const answer = await moveChampion(params.usecase, command, body?.version);
      set.status = answer.status;
      return answer.body;
    };

  const adminDoc = (summary: string) => ({
    params: t.Object({ usecase: usecaseParam(platform) }),
    body: AdminBody,
    detail: {
      summary,
      tags: ["models"],
      security: [{ adminToken: [] }],
    },
  });

  return new Elysia({ name: "models" })
    .get(
      "/api/v1/models/:usecase",
      async ({ params, set }) => {
        if (!registry || !serves(params.usecase)) {
          set.status = 404;
          return unknownUsecase(platform, params.usecase);
        }
        const usecase = params.usecase;
        const [versions, aliases, terms] = await Promise.all([
          registry.list(usecase, { limit: VERSIONS_LISTED_MAX }),
          registry.aliases(usecase),
          registry.championTerms(usecase, { limit: VERSIONS_LISTED_MAX }),
        ]);
        const served = platform.scoring(usecase)?.champion()?.version ?? null;
        return {
          usecase,
          aliases: Object.fromEntries(aliases.map((a) => [a.alias, a.version])),
          served_here: served,
          admin: platform.config.adminToken ? "enabled" : "disabled",
          /** Which version was champion from when, newest first: the model behind any decision. */
          champion_history: terms.map((term) => ({
            version: term.version,
            from: new Date(term.fromMs).toISOString(),
          })),
          /** Quality of the served versions on labelled live traffic (the use case's shape). */
          online_quality: platform.quality(usecase),
          versions: versions.map((v) => ({
            version: v.version,
            kind: v.kind,
            created_at: new Date(v.createdAtMs).toISOString(),
            aliases: aliases.filter((a) => a.version === v.version).map((a) => a.alias),
            threshold: v.threshold,
            metrics: v.metrics,
            /** The features it relies on most (its `importance.*` metrics), largest first. */
            relies_on: topFeatures(v.metrics, RELIES_ON_MAX),
            lineage: {
              training_data: v.trainingData,
              params: v.params,
              costs: v.costs,
              onnx_sha256: v.onnxSha256,
              onnx_bytes: v.onnxBytes,
              features: v.featureSchema.names.length,
              description: v.description,
            },
          })),
        };
      },
      {
        params: t.Object({ usecase: usecaseParam(platform) }),
        detail: {
          summary: "Model versions (newest first), aliases, champion history, metrics and lineage",
          tags: ["models"],
        },
      },
    )
    .post(
      "/api/v1/models/:usecase/promote",
      admin("promote"),
      adminDoc("Promote a version to champion (default: the challenger). Admin token."),
    )
    .post(
      "/api/v1/models/:usecase/rollback",
      admin("rollback"),
      adminDoc("Roll back the champion (default: the newest older version). Admin token."),
    )
    .post(
      "/api/v1/models/:usecase/retrain",
      admin("retrain"),
      adminDoc("Start a retraining run (where the lifecycle offers one). Admin token."),
    );
}
