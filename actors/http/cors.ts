/**
 * CORS for the configured origins only (`COELHO_CORS_ORIGINS`): a request from an origin on the
 * list gets `access-control-allow-origin` set to exactly that origin, and its preflight is
 * answered; any other origin gets no CORS header, so the browser refuses to show it the answer.
 * With no origins configured, only same-origin pages (the dashboard itself) can use the API.
 */
import { Elysia } from "elysia";

const ALLOWED_METHODS = "GET, POST, OPTIONS";
const ALLOWED_HEADERS = "authorization, content-type";
/** Browsers cache a preflight this long (seconds), so each call is not preceded by one. */
const PREFLIGHT_MAX_AGE_S = "600";

export function cors(origins: readonly string[]) {
  const allowed = new Set(origins);
  return new Elysia({ name: "cors" })
    .onRequest(({ request, set }) => {
      const origin = request.headers.get("origin");
      if (!origin || !allowed.has(origin)) return;
      set.headers["access-control-allow-origin"] = origin;
      set.headers.vary = "Origin";
      if (request.method === "OPTIONS") {
        set.headers["access-control-allow-methods"] = ALLOWED_METHODS;
        set.headers["access-control-allow-headers"] = ALLOWED_HEADERS;
        set.headers["access-control-max-age"] = PREFLIGHT_MAX_AGE_S;
        return new Response(null, { status: 204, headers: set.headers as Record<string, string> });
      }
    })
    .options("/*", ({ set }) => {
      // A preflight from an origin that is not allowed: answered, but without CORS headers.
      set.status = 204;
      return "";
    });
}
