/**
 * The live dashboard (served at `/`, bundled by Bun with plotly.js from node_modules): overview
 * numbers and charts pushed over the WebSocket, the flagged events, drift, models with promote and
 * roll back, an entity lookup and a prediction form. See docs/dashboard.md.
 */

import type { MetricsSummary } from "../actors/http/live/metrics-summary-shape.ts";
import { Charts } from "./charts.ts";
import { refreshDeadLetters } from "./dead-letters.ts";
import { byId, el, fmt, getJson } from "./dom.ts";
import { connectLive, type LiveMessage } from "./live.ts";
import { addAlerts, adminAction, refreshDrift, refreshModels, showInstances } from "./panels.ts";
import { PredictionForm } from "./predict.ts";
import { refreshRollout } from "./rollout.ts";

/** Drift and models are refreshed this often besides their pushed events. */
const REFRESH_MS = 5_000;

/** The server's summary, with the quality shape the charts read. */
type Summary = Omit<MetricsSummary, "quality"> & {
  quality: Record<string, { versions?: Record<string, number | null>[] }>;
};

const select = byId<HTMLSelectElement>("usecase");
const charts = new Charts(byId("rate-chart"), byId("score-histogram"), byId("quality-chart"));
const form = new PredictionForm(byId<HTMLFormElement>("predict-form"));
let threshold: number | null = null;
const usecase = () => select.value;

function onSummary(s: Summary): void {
  const u = usecase();
  byId("events-rate").textContent = fmt(s.eventsPerSecond, 1);
  byId("scores-rate").textContent = fmt(s.scoresPerSecond[u] ?? null, 1);
  const latency = s.latencyMs[u];
  byId("latency-p50").textContent = latency?.p50 == null ? "–" : `${fmt(latency.p50, 1)} ms`;
  byId("latency-p99").textContent = latency?.p99 == null ? "–" : `${fmt(latency.p99, 1)} ms`;
  const lag = Object.entries(s.consumerLag)
    .filter(([topic]) => topic.includes(u))
    .reduce((sum, [, n]) => sum + n, 0);
  byId("consumer-lag").textContent = fmt(lag);
  const champion = s.champions[u];
  byId("champion").textContent = champion == null ? "none" : `v${champion}`;
  showInstances(s.instances);
  charts.addSummary(s.atMs, s.scoresPerSecond[u] ?? 0, latency?.p50 ?? null, latency?.p99 ?? null);
  const versions = s.quality[u]?.versions ?? [];
  const current = versions.find((v) => v.model_version === champion) ?? versions[0];
  if (current) charts.addQuality(s.atMs, current);
  else if (!byId("quality-chart").hasChildNodes()) {
    byId("quality-chart").append(
      el("div", "no labelled predictions yet (labels arrive later)", "muted"),
    );
  }
}

function onMessage(message: LiveMessage): void {
  if (message.type === "welcome") {
    const usecases = (message as { usecases?: string[] }).usecases ?? [];
    if (select.options.length === 0) {
      for (const name of usecases) select.append(new Option(name, name));
      select.value = usecases.includes("fraud") ? "fraud" : (usecases[0] ?? "");
      void loadUsecase();
    }
    return;
  }
  switch (message.channel) {
    case "metrics":
      onSummary(message.data as Summary);
      break;
    case "scores": {
      const data = message.data as { sample: { score: number; threshold?: number }[] };
      charts.addScores(data.sample.map((s) => s.score));
      threshold = data.sample[0]?.threshold ?? threshold;
      charts.drawHistogram(threshold);
      break;
    }
    case "alerts":
      addAlerts(message.data as Parameters<typeof addAlerts>[0]);
      break;
    case "drift":
      void refreshDrift(usecase());
      break;
    case "model":
      void refreshModels(usecase());
      break;
  }
}

const live = connectLive(usecase, onMessage, (status) => {
  byId("connection").textContent = status;
});

async function loadUsecase(): Promise<void> {
  charts.reset();
  threshold = null;
  live.resubscribe();
  if (await form.load(usecase())) await form.randomize();
  await Promise.all([
    refreshDrift(usecase()),
    refreshModels(usecase()),
    refreshDeadLetters(usecase()),
    refreshRollout(usecase()),
  ]);
}

select.onchange = () => void loadUsecase();
byId("randomize").onclick = () => void form.randomize();
byId("score").onclick = () => void form.score(byId<HTMLInputElement>("apply").checked);
byId("rollback").onclick = () => void adminAction(usecase(), "rollback");
byId("lookup").onclick = async () => {
  const key = byId<HTMLInputElement>("entity-key").value.trim();
  const out = byId("entity-result");
  if (!key) return;
  const { status, body } = await getJson<Record<string, unknown>>(
    `/api/v1/entities/${encodeURIComponent(usecase())}/${encodeURIComponent(key)}`,
  );
  out.className = status === 200 ? "" : "muted";
  out.replaceChildren(
    el("span", status === 200 ? JSON.stringify(body, null, 2) : `${status}: ${String(body.error)}`),
  );
};
setInterval(() => {
  if (!usecase()) return;
  void refreshDrift(usecase());
  void refreshModels(usecase());
  void refreshDeadLetters(usecase());
  void refreshRollout(usecase());
}, REFRESH_MS);
