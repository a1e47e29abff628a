/**
 * Per-entity queries: the entity's state (with the use case's readable summary and current
 * features, when it offers them), answered by the instance owning its partition (forwarded there
 * in Kafka mode), with the serving instance and the offset the state includes.
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

/**
 * A state as JSON would show it, but with typed arrays as arrays: `JSON.stringify` writes a
 * Uint32Array as an object keyed "0", "1"...
 */
function withPlainArrays(value: unknown, depth = 0): unknown {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<number>);
  }
  if (depth >= 8 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((item) => withPlainArrays(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = withPlainArrays(item, depth + 1);
  return out;
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
        ...(answer.summary ? { summary: answer.summary } : {}),
        ...(answer.features ? { features: answer.features } : {}),
        state: withPlainArrays(answer.state),
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
