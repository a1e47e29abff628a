/**
 * Scoring one event on request: `POST /api/v1/<usecase>/score`, one route per use case that
 * scores, its body validated by the use case's own event schema (so the OpenAPI document shows
 * each use case's format). The event is scored by the champion at its saved threshold against the
 * entity's current state, which is read without changing it; `?apply=true` also appends the event
 * to the use case's input topic, so the stream applies (and scores) it like any other.
 *
 * `GET /api/v1/<usecase>/example` returns a realistic event (the dashboard's "randomize"); for an
 * entity with a state (here, or at its owner in Kafka mode), the use case may make it the
 * entity's next event.
 */
import { Elysia, t } from "elysia";
import { explainRow } from "../../../models/explain/explainer.ts";
import type { ScoredEvent } from "../../../models/index.ts";
import { MailboxFullError } from "../../../runtime/errors.ts";
import { NoChampionError } from "../../inference/index.ts";
import type { ServingModel } from "../../models/champion-watcher.ts";
import type { Platform, ScoringHandle } from "../../platform.ts";
import { forwardEntityQuery, forwardRequest, mayForward } from "../forward.ts";
import { KEY_LENGTH_MAX, partitionMoving, unknownUsecase, usecaseParam } from "./entities.ts";

const encoder = new TextEncoder();

function noChampion(usecase: string, reason: string | null) {
  return {
    error: `no champion model serves ${usecase} yet; train and promote one (the first start trains one)`,
    code: "NO_CHAMPION",
    reason: reason ?? `${usecase}: no champion model yet`,
  };
}

/**
 * Why the model scored the event so: each feature's contribution to the score's log-odds (a
 * regression's prediction) as SHAP values, largest first, from the model that scored it. On request only: it costs about as much
 * as the scoring itself.
 */
function explanationOf(scored: ScoredEvent, champion: ServingModel | null) {
  // A promotion between scoring and now would explain another model's score.
  if (champion?.version !== scored.modelVersion) {
    return {
      explanation: null,
      explanation_unavailable: "the champion changed while scoring; retry",
    };
  }
  if (!champion.explainer) {
    return { explanation: null, explanation_unavailable: champion.notExplainable };
  }
  const contributions = explainRow(champion.explainer, scored.row);
  const margin = contributions.reduce(
    (sum, c) => sum + c.contribution,
    champion.explainer.expectedValue,
  );
  return {
    explanation: {
      unit: champion.explainer.unit,
      expected_value: champion.explainer.expectedValue,
      margin,
      contributions,
    },
  };
}

function scoreRoute(platform: Platform, usecase: string, handle: ScoringHandle) {
  const instance = platform.config.instanceId;
  const { api } = handle;
  return new Elysia().post(
    `/api/v1/${usecase}/score`,
    async ({ body, query, set, request }) => {
      const startedMs = performance.now();
      const event = api.decode(body);
      const champion = handle.champion();
      if (!champion) {
        set.status = 503;
        set.headers["retry-after"] = "5";
        return noChampion(usecase, null);
      }
      const key = api.key(event);
      const answer = await platform.entity(usecase, key);
      if (answer.kind === "unknown_usecase") {
        set.status = 404;
        return unknownUsecase(platform, usecase);
      }
      if (answer.kind === "not_owned") {
        if (mayForward(request, answer.owner, instance)) {
          const url = new URL(request.url);
          const forwarded = await forwardRequest(
            answer.owner,
            url.pathname + url.search,
            instance,
            {
              method: "POST",
              body: JSON.stringify(body),
            },
          );
          if (forwarded) {
            set.status = forwarded.status;
            return forwarded.body;
          }
        }
        set.status = 503;
        set.headers["retry-after"] = "1";
        return partitionMoving(usecase, answer.partition, instance);
      }
      let scored: Awaited<ReturnType<typeof api.score>>;
      try {
        scored = await api.score(event, answer.state, champion, handle.inference);
      } catch (error) {
        if (error instanceof NoChampionError) {
          set.status = 503;
          return noChampion(usecase, error.message);
        }
        if (error instanceof MailboxFullError) {
          // Scoring on request shares the stream's inference queue; when it is full, back off.
          set.status = 503;
          set.headers["retry-after"] = "1";
          return { error: `${usecase}: the inference queue is full; retry shortly`, code: "BUSY" };
        }
        throw error;
      }
      const apply = query.apply === "true";
      if (apply) {
        await platform.log.produce(handle.inputTopic, [
          { key: encoder.encode(key), value: api.encode(event) },
        ]);
      }
      return {
        usecase,
        key,
        score: scored.score,
        decision: scored.decision,
        threshold: scored.threshold,
        model_version: scored.modelVersion,
        features: scored.features,
        ...(query.explain === "true" ? explanationOf(scored, handle.champion()) : {}),
        entity_known: answer.state !== null,
        partition: answer.partition,
        offset: answer.offset,
        applied: apply,
        instance,
        latency_ms: Math.round((performance.now() - startedMs) * 1000) / 1000,
      };
    },
    {
      body: api.eventSchema,
      query: t.Object({
        apply: t.Optional(
          t.Union([t.Literal("true"), t.Literal("false")], {
            description: "true: also append the event to the input topic (default false)",
          }),
        ),
        explain: t.Optional(
          t.Union([t.Literal("true"), t.Literal("false")], {
            description:
              "true: also return each feature's contribution to the score's log-odds (SHAP values; default false)",
          }),
        ),
      }),
      detail: {
        summary: `Score one ${usecase} event with the champion, against the entity's current state`,
        tags: ["scoring"],
      },
    },
  );
}

export function scoreRoutes(platform: Platform) {
  const app = new Elysia({ name: "score" });
  // Elysia's use() adds the routes in place; the typed result is not needed here.
  for (const usecase of platform.useCaseNames()) {
    const handle = platform.scoring(usecase);
    if (handle) app.use(scoreRoute(platform, usecase, handle));
  }
  return app
    .get(
      "/api/v1/:usecase/example",
      async ({ params, query, set, request }) => {
        const usecase = params.usecase;
        const handle = platform.scoring(usecase);
        if (!handle) {
          set.status = 404;
          return unknownUsecase(platform, usecase);
        }
        const instance = platform.config.instanceId;
        // The entity's state wherever it is held: in Kafka mode another instance owns most
        // entities, and asked once (as entity queries are) it answers with the state as JSON.
        const stateOf = async (key: string): Promise<unknown> => {
          const answer = await platform.entity(usecase, key);
          if (answer.kind === "found") return answer.state;
          if (answer.kind === "not_owned" && mayForward(request, answer.owner, instance)) {
            const forwarded = await forwardEntityQuery(answer.owner, usecase, key, instance);
            if (forwarded?.status === 200) return (forwarded.body as { state?: unknown }).state;
          }
          return null;
        };
        return (await handle.api.example(query.key, stateOf)) as Record<string, unknown>;
      },
      {
        params: t.Object({ usecase: usecaseParam(platform) }),
        query: t.Object({
          key: t.Optional(t.String({ minLength: 1, maxLength: KEY_LENGTH_MAX })),
        }),
        detail: {
          summary: "A realistic example event (the dashboard's randomize button)",
          tags: ["scoring"],
        },
      },
    )
    .post(
      "/api/v1/:usecase/score",
      ({ params, set }) => {
        // Reached only for use cases without their own route: unknown, or not scoring here.
        set.status = 404;
        return unknownUsecase(platform, params.usecase);
      },
      {
        params: t.Object({ usecase: usecaseParam(platform) }),
        detail: { summary: "Use cases that do not score here answer 404", tags: ["scoring"] },
      },
    );
}
