/**
 * The OpenAPI 3.1 document (`GET /openapi.json`), generated from the routes themselves: each
 * route's TypeBox schemas (params, query, body: the very objects Elysia validates requests with,
 * and for scoring the use case's event schema) and its `detail` (summary, tags, security). A route
 * added with schemas is documented without further work; one added without is listed bare.
 */
import type { AnyElysia } from "elysia";

type JsonSchema = Record<string, unknown>;

interface RouteLike {
  method: string;
  path: string;
  hooks?: {
    params?: JsonSchema;
    query?: JsonSchema;
    body?: JsonSchema;
    detail?: { summary?: string; tags?: string[]; security?: unknown[]; hide?: boolean };
  };
}

/** A TypeBox schema as plain JSON Schema (TypeBox marks its objects with symbols; JSON drops them). */
function plain(schema: unknown): JsonSchema {
  return JSON.parse(JSON.stringify(schema)) as JsonSchema;
}

function parameters(schema: JsonSchema | undefined, where: "path" | "query") {
  if (!schema) return [];
  const s = plain(schema);
  const properties = (s.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((s.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: where,
    required: where === "path" || required.has(name),
    ...(typeof property.description === "string" ? { description: property.description } : {}),
    schema: property,
  }));
}

const ERROR_SCHEMA: JsonSchema = {
  type: "object",
  required: ["error"],
  properties: {
    error: { type: "string", description: "What was wrong and what was expected" },
    code: { type: "string" },
    errors: {
      type: "array",
      items: {
        type: "object",
        properties: { path: { type: "string" }, expected: { type: "string" } },
      },
    },
  },
};

/** Builds the document from an app's routes. */
export function openApiDocument(
  app: AnyElysia,
  info: { version: string; schemas?: Record<string, unknown> },
): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of app.routes as unknown as RouteLike[]) {
    const method = route.method.toLowerCase();
    if (!["get", "post", "put", "delete", "patch"].includes(method)) continue;
    if (route.path.includes("*") || route.hooks?.detail?.hide) continue;
    const path = route.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
    const hooks = route.hooks ?? {};
    const body = hooks.body ? plain(hooks.body) : null;
    // An optional body (TypeBox marks it with the Optional symbol, which JSON drops).
    const bodyOptional =
      hooks.body !== undefined &&
      Object.getOwnPropertySymbols(hooks.body).some(
        (s) => s.description === "TypeBox.Optional" && (hooks.body as never)[s] === "Optional",
      );
    const detail = hooks.detail ?? {};
    const operation: Record<string, unknown> = {
      operationId: `${method}${path.replace(/[{}]/g, "").replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? "").toUpperCase())}`,
      ...(detail.summary ? { summary: detail.summary } : {}),
      ...(detail.tags ? { tags: detail.tags } : {}),
      ...(detail.security ? { security: detail.security } : {}),
      parameters: [...parameters(hooks.params, "path"), ...parameters(hooks.query, "query")],
      ...(body
        ? {
            requestBody: {
              required: !bodyOptional,
              content: { "application/json": { schema: body } },
            },
          }
        : {}),
      responses: {
        "200": { description: "OK" },
        "4XX": {
          description: "The request was refused; `error` says why and what was expected",
          content: { "application/json": { schema: ERROR_SCHEMA } },
        },
        "503": {
          description: "Not possible right now (no champion, partition moving); retry",
          content: { "application/json": { schema: ERROR_SCHEMA } },
        },
      },
    };
    paths[path] ??= {};
    (paths[path] as Record<string, unknown>)[method] = operation;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "coelho-realtime",
      version: info.version,
      description:
        "Real-time ML platform: scoring, per-entity state, models, drift and live stream (WebSocket /ws; see docs/api.md).",
    },
    paths,
    components: {
      // The use cases' wire formats (events on their topics, labels...), from the same schemas.
      schemas: Object.fromEntries(
        Object.entries(info.schemas ?? {}).map(([name, schema]) => [name, plain(schema)]),
      ),
      securitySchemes: {
        adminToken: {
          type: "http",
          scheme: "bearer",
          description: "COELHO_ADMIN_TOKEN; without one configured the admin routes answer 403",
        },
      },
    },
  };
}
