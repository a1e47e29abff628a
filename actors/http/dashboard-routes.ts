/**
 * The dashboard at `/`: its page and its script, which Bun bundles on first request from
 * `dashboard/main.ts` with plotly.js from node_modules (no CDN: the machine, and users' clusters,
 * may have no internet). The bundle is built once per process and kept in memory (~5 MB).
 */
import { join } from "node:path";
import { Elysia } from "elysia";
import type { Logger } from "../../runtime/logger.ts";

const DASHBOARD_DIR = join(import.meta.dir, "..", "..", "dashboard");

let bundle: Promise<string> | null = null;

/** The dashboard's script, bundled once; a failed build is retried on the next request. */
export function dashboardBundle(): Promise<string> {
  bundle ??= (async () => {
    const result = await Bun.build({
      entrypoints: [join(DASHBOARD_DIR, "main.ts")],
      target: "browser",
      minify: true,
    });
    const output = result.outputs[0];
    if (!result.success || !output) {
      throw new Error(
        `the dashboard could not be bundled: ${result.logs.map((l) => l.message).join("; ")}`,
      );
    }
    return await output.text();
  })().catch((error: unknown) => {
    bundle = null;
    throw error;
  });
  return bundle;
}

export function dashboardRoutes(logger: Logger) {
  return new Elysia({ name: "dashboard" })
    .get(
      "/",
      () =>
        new Response(Bun.file(join(DASHBOARD_DIR, "index.html")), {
          headers: { "content-type": "text/html; charset=utf-8" },
        }),
      { detail: { hide: true } },
    )
    .get(
      "/dashboard.js",
      async ({ set }) => {
        try {
          return new Response(await dashboardBundle(), {
            headers: {
              "content-type": "text/javascript; charset=utf-8",
              "cache-control": "no-cache",
            },
          });
        } catch (error) {
          logger.error("dashboard bundle failed", { error });
          set.status = 500;
          return { error: (error as Error).message, code: "DASHBOARD_BUILD" };
        }
      },
      { detail: { hide: true } },
    );
}
