/** The dead-letters panel: how many events each input topic refused, and the newest few with why. */
import { byId, el, getJson, row } from "./dom.ts";

/** Newest letters shown per topic. */
const LETTERS_SHOWN = 5;
/** Characters of a refused event shown (the API sends up to 4 KiB). */
const VALUE_SHOWN_CHARS = 160;

interface TopicCounts {
  topics: { topic: string; usecase: string | null; total: number }[];
}

interface Letters {
  letters: { time: string; reason: string | null; value: string; truncated: boolean }[];
}

export async function refreshDeadLetters(usecase: string): Promise<void> {
  const table = byId("dead-letters").querySelector("tbody") as HTMLElement;
  const summary = byId("dead-letters-summary");
  const { status, body } = await getJson<TopicCounts>("/api/v1/dead-letters");
  if (status !== 200) return;
  const topics = body.topics.filter((t) => t.usecase === usecase);
  summary.textContent =
    topics.map((t) => `${t.topic}: ${t.total} refused`).join(" · ") || `${usecase} reads no topic`;
  const rows: HTMLTableRowElement[] = [];
  for (const t of topics.filter((t) => t.total > 0)) {
    const path = `/api/v1/dead-letters/${encodeURIComponent(t.topic)}?limit=${LETTERS_SHOWN}`;
    const newest = await getJson<Letters>(path);
    if (newest.status !== 200) continue;
    for (const letter of newest.body.letters) {
      const value = letter.value.slice(0, VALUE_SHOWN_CHARS);
      const cut = letter.truncated || letter.value.length > VALUE_SHOWN_CHARS;
      rows.push(
        row([
          new Date(letter.time).toLocaleTimeString(),
          t.topic,
          letter.reason ?? "–",
          el("code", cut ? `${value}…` : value),
        ]),
      );
    }
  }
  if (rows.length === 0) {
    const empty = row([el("span", "no refused events", "muted")]);
    (empty.firstElementChild as HTMLTableCellElement).colSpan = 4;
    rows.push(empty);
  }
  table.replaceChildren(...rows);
}
