/**
 * The Grafana dashboards are valid dashboard JSON (Grafana's dashboard JSON model; no Grafana
 * here, so the structure is checked field by field) and follow the conventions: a `datasource`
 * variable every panel uses, fixed uids, `$__rate_interval` in rates. And the JSON files are what
 * the generator (observability/grafana/dashboards.ts) makes.
 */
import { describe, expect, test } from "bun:test";
import { renderDashboards } from "../../observability/grafana/build.ts";
import { DATASOURCE } from "../../observability/grafana/panels.ts";
import { loadDashboards } from "./support.ts";

const PANEL_TYPES = new Set(["timeseries", "stat", "gauge", "heatmap", "table", "bargauge"]);

/** Problems of one dashboard against the JSON model and our conventions; empty when valid. */
function problems(file: string, d: Record<string, unknown>): string[] {
  const out: string[] = [];
  const need = (ok: boolean, what: string) => {
    if (!ok) out.push(`${file}: ${what}`);
  };
  need(
    typeof d.uid === "string" && /^[a-z0-9-]{1,40}$/.test(d.uid as string),
    "uid: a fixed id of at most 40 characters [a-z0-9-]",
  );
  need(`${d.uid}.json` === file, `file name: expected ${d.uid}.json`);
  need(typeof d.title === "string" && (d.title as string).length > 0, "title: required");
  need(
    Number.isInteger(d.schemaVersion) && (d.schemaVersion as number) >= 36,
    "schemaVersion: an integer >= 36",
  );
  need(typeof d.time === "object" && d.time !== null, "time: required");
  const templating = (d.templating as { list?: Record<string, unknown>[] } | undefined)?.list;
  need(Array.isArray(templating), "templating.list: required");
  const variables = new Map((templating ?? []).map((v) => [v.name as string, v]));
  const ds = variables.get("datasource");
  need(
    ds?.type === "datasource" && ds?.query === "prometheus",
    "templating: a `datasource` variable of type datasource (query prometheus)",
  );
  for (const v of templating ?? []) {
    if (v.type === "query") {
      need(
        JSON.stringify(v.datasource) === JSON.stringify(DATASOURCE),
        `variable ${v.name}: datasource must be \${datasource}`,
      );
    }
  }
  const panels = d.panels as Record<string, unknown>[];
  need(Array.isArray(panels) && panels.length > 0, "panels: at least one");
  const ids = new Set<unknown>();
  const cells = new Set<string>();
  for (const p of panels ?? []) {
    const at = `panel ${p.id} "${p.title}"`;
    need(Number.isInteger(p.id) && !ids.has(p.id), `${at}: id must be a unique integer`);
    ids.add(p.id);
    need(PANEL_TYPES.has(p.type as string), `${at}: type ${p.type} is not a known panel type`);
    need(
      typeof p.title === "string" &&
        typeof p.description === "string" &&
        (p.description as string).length > 0,
      `${at}: title and description required`,
    );
    need(
      JSON.stringify(p.datasource) === JSON.stringify(DATASOURCE),
      `${at}: datasource must be \${datasource}`,
    );
    const g = p.gridPos as { h: number; w: number; x: number; y: number };
    need(
      !!g &&
        [g.h, g.w, g.x, g.y].every(Number.isInteger) &&
        g.w >= 1 &&
        g.x + g.w <= 24 &&
        g.h >= 1,
      `${at}: gridPos {h,w,x,y} inside 24 columns`,
    );
    if (g) {
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          need(!cells.has(`${x},${y}`), `${at}: overlaps another panel at ${x},${y}`);
          cells.add(`${x},${y}`);
        }
      }
    }
    need(
      typeof p.fieldConfig === "object" && typeof p.options === "object",
      `${at}: fieldConfig and options required`,
    );
    const targets = p.targets as Record<string, unknown>[];
    need(Array.isArray(targets) && targets.length > 0, `${at}: at least one target`);
    const refIds = new Set<unknown>();
    for (const t of targets ?? []) {
      const expr = t.expr as string;
      need(typeof expr === "string" && expr.length > 0, `${at}: target ${t.refId} has no expr`);
      need(!refIds.has(t.refId), `${at}: refId ${t.refId} repeated`);
      refIds.add(t.refId);
      need(
        JSON.stringify(t.datasource) === JSON.stringify(DATASOURCE),
        `${at}: target datasource must be \${datasource}`,
      );
      // rate/increase over a literal window ignores the scrape interval Grafana knows about.
      for (const m of expr.matchAll(/\b(rate|increase|irate)\([^[]*\[([^\]]+)\]/g)) {
        need(
          m[2] === "$__rate_interval" || m[2] === "$__range",
          `${at}: ${m[1]}(...[${m[2]}]) should use $__rate_interval (or $__range for totals)`,
        );
      }
      for (const m of expr.matchAll(/\$(\w+)/g)) {
        const name = m[1] as string;
        need(
          name.startsWith("__") || variables.has(name),
          `${at}: $${name} is not a variable of the dashboard`,
        );
      }
    }
  }
  return out;
}

describe("Grafana dashboards", () => {
  const files = loadDashboards();

  test("the issue's dashboards are all there, with distinct uids", () => {
    const uids = files.map((f) => f.json.uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const uid of [
      "coelho-system-health",
      "coelho-streaming",
      "coelho-model-performance",
      "coelho-data-quality",
      "coelho-business",
      "coelho-slo",
      "coelho-model-lifecycle",
    ]) {
      expect(uids).toContain(uid);
    }
  });

  test("each is valid dashboard JSON and follows the conventions", () => {
    const found = files.flatMap((f) => problems(f.file, f.json));
    expect(found).toEqual([]);
  });

  test("the checker catches a hard-coded datasource, a fixed rate window and an overlap", () => {
    const bad = structuredClone(files[0]?.json);
    bad.panels[0].datasource = { type: "prometheus", uid: "P1809F7CD0C75ACF3" };
    bad.panels[1].targets[0].expr = "sum(rate(coelho_actor_messages_total[5m]))";
    bad.panels[2].gridPos = { ...bad.panels[1].gridPos };
    const found = problems(files[0]?.file ?? "", bad).join("\n");
    expect(found).toContain(`datasource must be ${DATASOURCE.uid}`);
    expect(found).toContain("should use $__rate_interval");
    expect(found).toContain("overlaps another panel");
  });

  test("the JSON files are what the generator makes (run bun observability/grafana/build.ts)", () => {
    const generated = renderDashboards();
    expect(files.map((f) => f.file).sort()).toEqual([...generated.keys()].sort());
    for (const { file, json } of files) {
      expect({ file, json }).toEqual({ file, json: JSON.parse(generated.get(file) as string) });
    }
  });
});
