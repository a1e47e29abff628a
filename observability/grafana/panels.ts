/**
 * A small builder of Grafana dashboard JSON (the dashboard JSON model, schemaVersion 39): the
 * dashboards in `dashboards/*.json` are generated from `dashboards.ts` with it, so every panel
 * gets the same datasource variable, layout rules and `$__rate_interval` conventions.
 *
 * Regenerate after editing: `bun observability/grafana/build.ts` (a test fails when the JSON
 * files and the generator disagree).
 */

/** Every panel and variable points at the `datasource` template variable, never a fixed uid. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: a Grafana variable reference, not JS.
export const DATASOURCE = { type: "prometheus", uid: "${datasource}" } as const;
export const SCHEMA_VERSION = 39;
const WIDTH = 24;

export interface Query {
  expr: string;
  legend?: string;
  /** Heatmaps read Prometheus buckets as they are. */
  format?: "time_series" | "heatmap" | "table";
  instant?: boolean;
}

export interface PanelSpec {
  title: string;
  description: string;
  type?: "timeseries" | "stat" | "gauge" | "heatmap" | "table" | "bargauge";
  queries: Query[];
  /** A Grafana unit id: s, percentunit, reqps, short, bytes, currencyUSD, none... */
  unit?: string;
  /** Width in grid columns (24 = full width); default 12. */
  w?: number;
  h?: number;
  min?: number;
  max?: number;
  /** Stacked series (timeseries only). */
  stack?: boolean;
  /** Threshold steps above the base (green), e.g. [{ value: 0.8, color: "red" }]. */
  thresholds?: { value: number; color: string }[];
}

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  tags: string[];
  /** Adds a multi-value `usecase` variable fed by this metric's `usecase` label. */
  usecaseFrom?: string;
  panels: PanelSpec[];
}

function fieldConfig(p: PanelSpec): Record<string, unknown> {
  const defaults: Record<string, unknown> = {
    unit: p.unit ?? "short",
    thresholds: {
      mode: "absolute",
      steps: [
        { color: "green", value: null },
        ...(p.thresholds ?? []).map((t) => ({ color: t.color, value: t.value })),
      ],
    },
  };
  if (p.min !== undefined) defaults.min = p.min;
  if (p.max !== undefined) defaults.max = p.max;
  if ((p.type ?? "timeseries") === "timeseries") {
    defaults.custom = {
      drawStyle: "line",
      lineWidth: 1,
      fillOpacity: p.stack ? 30 : 10,
      showPoints: "never",
      spanNulls: false,
      stacking: { mode: p.stack ? "normal" : "none", group: "A" },
    };
  }
  return { defaults, overrides: [] };
}

function options(p: PanelSpec): Record<string, unknown> {
  switch (p.type ?? "timeseries") {
    case "timeseries":
      return {
        legend: { displayMode: "list", placement: "bottom", showLegend: true },
        tooltip: { mode: "multi", sort: "desc" },
      };
    case "stat":
    case "gauge":
    case "bargauge":
      return {
        reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false },
        orientation: "auto",
      };
    case "heatmap":
      return {
        calculate: false,
        yAxis: { axisPlacement: "left", unit: p.unit ?? "short" },
        cellGap: 1,
        color: { mode: "scheme", scheme: "Oranges", steps: 64 },
        tooltip: { mode: "single", yHistogram: false },
      };
    case "table":
      return { showHeader: true };
  }
}

/** The dashboard JSON for `spec`: panels laid out left to right, top to bottom. */
export function dashboard(spec: DashboardSpec): Record<string, unknown> {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  const panels = spec.panels.map((p, index) => {
    const w = p.w ?? 12;
    const h = p.h ?? 8;
    if (x + w > WIDTH) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const gridPos = { h, w, x, y };
    x += w;
    rowHeight = Math.max(rowHeight, h);
    return {
      id: index + 1,
      type: p.type ?? "timeseries",
      title: p.title,
      description: p.description,
      datasource: DATASOURCE,
      gridPos,
      fieldConfig: fieldConfig(p),
      options: options(p),
      targets: p.queries.map((q, i) => ({
        refId: String.fromCharCode(65 + i),
        datasource: DATASOURCE,
        expr: q.expr,
        legendFormat: q.legend ?? "__auto",
        range: !q.instant,
        instant: q.instant ?? false,
        format: q.format ?? "time_series",
        editorMode: "code",
      })),
    };
  });
  const variables: Record<string, unknown>[] = [
    {
      name: "datasource",
      label: "Data source",
      type: "datasource",
      query: "prometheus",
      current: {},
      hide: 0,
      refresh: 1,
      regex: "",
      options: [],
    },
  ];
  if (spec.usecaseFrom) {
    const definition = `label_values(${spec.usecaseFrom}, usecase)`;
    variables.push({
      name: "usecase",
      label: "Use case",
      type: "query",
      datasource: DATASOURCE,
      definition,
      query: { query: definition, refId: "usecase" },
      includeAll: true,
      multi: true,
      allValue: ".*",
      current: {},
      hide: 0,
      refresh: 2,
      regex: "",
      sort: 1,
      options: [],
    });
  }
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: spec.tags,
    editable: true,
    graphTooltip: 1,
    schemaVersion: SCHEMA_VERSION,
    version: 1,
    refresh: "30s",
    time: { from: "now-1h", to: "now" },
    timepicker: {},
    timezone: "browser",
    fiscalYearStartMonth: 0,
    liveNow: false,
    weekStart: "",
    links: [
      {
        title: "coelho-realtime",
        type: "dashboards",
        tags: ["coelho-realtime"],
        asDropdown: true,
        includeVars: true,
        keepTime: true,
      },
    ],
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: "grafana", uid: "-- Grafana --" },
          enable: true,
          hide: true,
          iconColor: "rgba(0, 211, 255, 1)",
          name: "Annotations & Alerts",
          type: "dashboard",
        },
      ],
    },
    templating: { list: variables },
    panels,
  };
}
