/** The dashboard's tables: instances, flagged events, drift detectors and model versions. */
import { byId, el, fmt, getJson, row } from "./dom.ts";

/** Flagged events shown at most (newest first). */
const ALERT_ROWS_MAX = 50;

function tbody(id: string): HTMLElement {
  return byId(id).querySelector("tbody") as HTMLElement;
}

export function showInstances(
  instances: { instanceId: string; url: string; partitions: Record<string, number[]> }[],
): void {
  tbody("instances").replaceChildren(
    ...instances.map((i) =>
      row([
        i.instanceId,
        i.url,
        Object.entries(i.partitions)
          .map(([usecase, ps]) => `${usecase}: ${ps.join(",") || "–"}`)
          .join("  "),
      ]),
    ),
  );
}

interface Alert {
  key: string;
  score: number;
  modelVersion: number;
  record: Record<string, unknown>;
  drivers: Record<string, number>;
  /** Log-odds each driver added, when they are the model's own reasons. */
  contributions?: Record<string, number>;
}

export function addAlerts(alerts: Alert[]): void {
  const body = tbody("alerts");
  for (const alert of alerts) {
    // Alerts published by other parts of the platform may carry other fields: show what is there.
    const record = alert.record ?? (alert as unknown as Record<string, unknown>);
    const driversOf = alert.drivers ?? {};
    const summary = ["amount", "timestamp", "transaction_id"]
      .filter((k) => record[k] !== undefined)
      .map((k) => `${k}: ${String(record[k])}`)
      .join("  ");
    const contributions = alert.contributions ?? {};
    const drivers = Object.entries(driversOf)
      .map(([name, value]) => {
        const added = contributions[name];
        return added === undefined
          ? `${name}=${fmt(value, 2)}`
          : `${name}=${fmt(value, 2)} (+${fmt(added, 2)})`;
      })
      .join("  ");
    body.prepend(
      row([
        new Date().toLocaleTimeString(),
        alert.key,
        el("span", fmt(alert.score, 3), "flag"),
        summary,
        drivers,
      ]),
    );
  }
  while (body.children.length > ALERT_ROWS_MAX) body.lastElementChild?.remove();
}

interface Machine {
  name: string;
  state: string;
  context?: { score?: number; threshold?: number };
}

/** Detectors in drift first, then warnings: the ones to look at are on top. */
const SEVERITY: Record<string, number> = { drift: 0, warning: 1 };
function bySeverity(a: Machine, b: Machine): number {
  return (SEVERITY[a.state] ?? 2) - (SEVERITY[b.state] ?? 2) || a.name.localeCompare(b.name);
}

export async function refreshDrift(usecase: string): Promise<void> {
  const { status, body } = await getJson<{
    detectors: Machine[];
    events: { atMs: number; data: unknown }[];
  }>(`/api/v1/drift/${usecase}`);
  if (status !== 200) return;
  tbody("drift").replaceChildren(
    ...(body.detectors.length === 0
      ? [row([el("span", "no drift detectors registered on this instance", "muted"), "", "", ""])]
      : [...body.detectors]
          .sort(bySeverity)
          .map((d) =>
            row([
              d.name,
              el("span", d.state, `pill ${d.state}`),
              fmt(d.context?.score),
              fmt(d.context?.threshold),
            ]),
          )),
  );
  const last = body.events.at(-1);
  byId("drift-events").textContent = last
    ? `last drift event ${new Date(last.atMs).toLocaleTimeString()}: ${JSON.stringify(last.data)}`
    : "no drift events yet";
}

interface ModelsAnswer {
  aliases: Record<string, number>;
  versions: {
    version: number;
    kind: string;
    created_at: string;
    aliases: string[];
    metrics: Record<string, number>;
    relies_on: { feature: string; importance: number }[];
  }[];
}

/** A token asked once per tab; kept in sessionStorage only. */
function adminToken(): string | null {
  let token = sessionStorage.getItem("coelho.adminToken");
  if (!token) {
    token = prompt("Admin token (COELHO_ADMIN_TOKEN)");
    if (token) sessionStorage.setItem("coelho.adminToken", token);
  }
  return token;
}

export async function adminAction(
  usecase: string,
  action: "promote" | "rollback",
  version?: number,
): Promise<void> {
  const message = byId("model-message");
  const token = adminToken();
  if (!token) return;
  const response = await fetch(`/api/v1/models/${usecase}/${action}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(version === undefined ? {} : { version }),
  });
  const body = (await response.json()) as Record<string, unknown>;
  if (response.status === 401) sessionStorage.removeItem("coelho.adminToken");
  message.textContent = response.ok
    ? `${action}: champion is now version ${String(body.champion ?? "?")}`
    : `${action} failed (${response.status}): ${String(body.error)}`;
  await refreshModels(usecase);
}

export async function refreshModels(usecase: string): Promise<void> {
  const { status, body } = await getJson<ModelsAnswer>(`/api/v1/models/${usecase}`);
  const table = tbody("models");
  if (status !== 200) {
    table.replaceChildren(row([el("span", `${usecase} has no models`, "muted")]));
    return;
  }
  table.replaceChildren(
    ...body.versions.map((v) => {
      const metrics = Object.entries(v.metrics)
        .filter(([name]) => /pr_auc|recall|precision/.test(name))
        .slice(0, 3)
        .map(([name, value]) => `${name} ${fmt(value, 3)}`)
        .join("  ");
      const promote = el("button", "Promote");
      promote.setAttribute("type", "button");
      promote.onclick = () => void adminAction(usecase, "promote", v.version);
      if (v.aliases.includes("champion")) promote.setAttribute("disabled", "");
      const reliesOn =
        v.relies_on
          .slice(0, 3)
          .map((f) => `${f.feature} ${fmt(f.importance, 2)}`)
          .join(", ") || "–";
      return row([
        `v${v.version}`,
        v.kind,
        v.aliases.join(", ") || "–",
        new Date(v.created_at).toLocaleString(),
        metrics,
        reliesOn,
        promote,
      ]);
    }),
  );
}
