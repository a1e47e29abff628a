/**
 * Writes the dashboards of `dashboards.ts` to `dashboards/<uid>.json` (what Grafana and the Helm
 * chart read). Run after editing them: `bun observability/grafana/build.ts`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dashboards } from "./dashboards.ts";
import { dashboard } from "./panels.ts";

/** The JSON text of each dashboard file, by file name. */
export function renderDashboards(): Map<string, string> {
  const files = new Map<string, string>();
  for (const spec of dashboards) {
    files.set(`${spec.uid}.json`, `${JSON.stringify(dashboard(spec), null, 2)}\n`);
  }
  return files;
}

if (import.meta.main) {
  const dir = join(import.meta.dir, "dashboards");
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of renderDashboards()) {
    writeFileSync(join(dir, name), text);
    console.log(`wrote ${join("observability/grafana/dashboards", name)}`);
  }
  // In the repository's own format, so that the lint step passes on what was just written.
  const biome = join(import.meta.dir, "../../node_modules/.bin/biome");
  const format = Bun.spawnSync([biome, "format", "--write", dir], { stdout: "ignore" });
  if (format.exitCode !== 0) {
    throw new Error(`biome format ${dir} failed: ${format.stderr.toString().trim()}`);
  }
}
