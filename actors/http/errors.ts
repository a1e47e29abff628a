/**
 * One error shape for every route: `{error, code, ...}` with the status that says whose fault it
 * was. Validation errors (the request's schema, or the use case's own decoder) answer 422 with
 * each field's path and what was expected; a body that is not JSON answers 400; an unknown route
 * 404. Anything else is our bug: 500 with no internals, logged.
 */
import { Elysia } from "elysia";
import { ValidationError as RuntimeValidationError } from "../../runtime/errors.ts";
import type { Logger } from "../../runtime/logger.ts";

/** One field that failed validation. */
export interface FieldError {
  /** JSON-pointer-like path of the field, e.g. `location.lat`; empty for the whole body. */
  path: string;
  /** What was expected there. */
  expected: string;
}

/** The most errors listed for one request (a body missing everything would list every field). */
const FIELD_ERRORS_MAX = 20;

/** Elysia's `/location/lat` as `location.lat`. */
function dotted(pointer: string): string {
  return pointer.replace(/^\//, "").replaceAll("/", ".");
}

interface TypeBoxError {
  path: string;
  message: string;
  summary?: string;
  schema?: { anyOf?: { const?: unknown }[] };
  value?: unknown;
}

/**
 * A choice among literals (`?apply=true|false`) said as the values, not as TypeBox's summary of
 * their types ("should be one of: 'string', 'string'").
 */
function literalChoice(e: TypeBoxError): string | null {
  const options = e.schema?.anyOf;
  if (!options?.length || !options.every((o) => o.const !== undefined)) return null;
  const values = options.map((o) => JSON.stringify(o.const)).join(" or ");
  return `expected ${values}, got ${JSON.stringify(e.value) ?? "nothing"}`;
}

/** The fields of an Elysia validation error, deduplicated and bounded. */
export function fieldErrors(all: readonly TypeBoxError[]): FieldError[] {
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const e of all) {
    const path = dotted(e.path);
    const expected = literalChoice(e) ?? e.summary ?? e.message;
    const id = `${path}\u0000${expected}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ path, expected });
    if (out.length >= FIELD_ERRORS_MAX) break;
  }
  return out;
}

/** The answer to a request whose `where` (body, params, query) failed validation. */
export function validationAnswer(where: string, errors: FieldError[]) {
  const first = errors[0];
  const what = first ? `${first.path || where}: ${first.expected}` : "invalid";
  return { error: `invalid ${where}: ${what}`, code: "VALIDATION", errors };
}

export function errorHandling(logger: Logger) {
  return new Elysia({ name: "errors" }).onError({ as: "global" }, ({ code, error, set, path }) => {
    if (code === "VALIDATION") {
      set.status = 422;
      const e = error as unknown as { type: string; all: TypeBoxError[] };
      return validationAnswer(e.type, fieldErrors(e.all));
    }
    if (error instanceof RuntimeValidationError) {
      set.status = 422;
      const expected = error.message.replace(`${error.path}: `, "");
      return validationAnswer("body", [{ path: error.path, expected }]);
    }
    if (code === "PARSE") {
      set.status = 400;
      return {
        error:
          "the body is not valid JSON; expected a JSON object (content-type: application/json)",
        code: "PARSE",
      };
    }
    if (code === "NOT_FOUND") {
      set.status = 404;
      return { error: `no route ${path}; see /openapi.json`, code: "NOT_FOUND" };
    }
    logger.error("request failed", { path, error });
    set.status = 500;
    return { error: "internal error; see the server's log", code: "INTERNAL" };
  });
}
