/**
 * Per-entity queries: the entity's state, answered by the instance owning its partition
 * (forwarded there in Kafka mode), with the serving instance and the offset the state includes.
 */
import { Elysia, t } from "elysia";
import type { Platform } from "../../platform.ts";
import { forwardEntityQuery, mayForward } from "../forward.ts";

/** Entity keys are ids; longer than this is not a key this platform could have stored. */
export const KEY_LENGTH_MAX = 256;

/** The `usecase` path parameter, with the served ones as examples (for readers and fuzzers). */
export function usecaseParam(platform: Platform) {
  return t.String({
    description: `A use case served here: ${platform.useCaseNames().join(", ")}`,
    examples: platform.useCaseNames(),
  });
}

export function unknownUsecase(platform: Platform, usecase: string) {
  const known = platform.useCaseNames().join(", ");
  return {
    error: `usecase "${usecase}" is not served here; expected one of ${known}`,
    code: "UNKNOWN_USECASE",
  };
}

export function partitionMoving(usecase: string, partition: number, instance: string) {
  return {
    error: `partition ${partition} of ${usecase} is moving between instances (rebalance or restore); retry shortly`,
    code: "PARTITION_MOVING",
    partition,
    instance,
  };
}

export function entityRoutes(platform: Platform) {
  const instance = platform.config.instanceId;
  return new Elysia({ name: "entities" }).get(
    "/api/v1/entities/:usecase/:key",
    async ({ params, set, request }) => {
      const answer = await platform.entity(params.usecase, params.key);
      if (answer.kind === "unknown_usecase") {
        set.status = 404;
        return unknownUsecase(platform, params.usecase);
      }
      if (answer.kind === "not_owned") {
        if (mayForward(request, answer.owner, instance)) {
          const forwarded = await forwardEntityQuery(
            answer.owner,
            params.usecase,
            params.key,
            instance,
          );
          if (forwarded) {
            set.status = forwarded.status;
            return forwarded.body;
          }
        }
        set.status = 503;
        set.headers["retry-after"] = "1";
        return partitionMoving(params.usecase, answer.partition, instance);
      }
      if (answer.state === null) {
        set.status = 404;
        return {
          error: `no entity "${params.key}" in usecase "${params.usecase}"`,
          code: "UNKNOWN_ENTITY",
          partition: answer.partition,
          offset: answer.offset,
          instance,
        };
      }
      return {
        usecase: params.usecase,
        key: params.key,
        state: answer.state,
        ...(answer.features ? { features: answer.features } : {}),
        partition: answer.partition,
        offset: answer.offset,
        instance,
      };
    },
    {
      params: t.Object({
        usecase: usecaseParam(platform),
        key: t.String({ minLength: 1, maxLength: KEY_LENGTH_MAX, description: "The entity key" }),
      }),
      detail: {
        summary: "An entity's state and current features, from the instance owning its partition",
        tags: ["entities"],
      },
    },
  );
}
