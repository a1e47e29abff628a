/** Small DOM helpers: the dashboard has no framework. */

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`dashboard: no element #${id}`);
  return element as T;
}

/** An element with text (never HTML: everything shown comes from the network). */
export function el(tag: string, text?: string, className?: string): HTMLElement {
  const element = document.createElement(tag);
  if (text !== undefined) element.textContent = text;
  if (className) element.className = className;
  return element;
}

export function row(cells: (string | HTMLElement)[]): HTMLTableRowElement {
  const tr = document.createElement("tr");
  for (const cell of cells) {
    const td = document.createElement("td");
    if (typeof cell === "string") td.textContent = cell;
    else td.append(cell);
    tr.append(td);
  }
  return tr;
}

export function fmt(value: unknown, digits = 3): string {
  if (typeof value !== "number") return value === null || value === undefined ? "–" : String(value);
  if (!Number.isFinite(value)) return "–";
  if (Number.isInteger(value)) return String(value);
  // Scores and thresholds can be tiny (a cost-chosen threshold of 0.00016): keep them readable.
  if (Math.abs(value) < 10 ** -digits) return value.toExponential(2);
  return value.toFixed(digits);
}

export async function getJson<T>(path: string): Promise<{ status: number; body: T }> {
  const response = await fetch(path);
  return { status: response.status, body: (await response.json()) as T };
}
