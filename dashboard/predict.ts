/**
 * The prediction form, generated from the use case's event schema in the OpenAPI document (so it
 * fits any use case): a select per enumeration, number inputs, true/false selects, text inputs;
 * nested objects become dotted fields (`location.lat`). "Randomize" fills it from the use case's
 * example generator; "Score" posts it and shows the score, the decision and the features.
 */
import { byId, el, fmt, getJson, row } from "./dom.ts";

/** `?explain=true`'s answer: each feature's part in the score, largest first. */
interface Explanation {
  contributions: { feature: string; value: number; contribution: number }[];
}

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  anyOf?: Schema[];
  const?: unknown;
  description?: string;
}

interface Field {
  path: string[];
  kind: "enum" | "number" | "boolean" | "string";
  required: boolean;
  input: HTMLInputElement | HTMLSelectElement;
}

function fieldsOf(schema: Schema, prefix: string[], required: boolean, out: Field[]): void {
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    const path = [...prefix, name];
    const isRequired = required && (schema.required ?? []).includes(name);
    if (property.type === "object" && property.properties) {
      fieldsOf(property, path, isRequired, out);
      continue;
    }
    const label = el("label", path.join("."));
    let input: HTMLInputElement | HTMLSelectElement;
    let kind: Field["kind"];
    if (property.anyOf?.every((option) => option.const !== undefined)) {
      kind = "enum";
      input = document.createElement("select");
      if (!isRequired) input.append(new Option("(none)", ""));
      for (const option of property.anyOf)
        input.append(new Option(String(option.const), String(option.const)));
    } else if (property.type === "boolean") {
      kind = "boolean";
      input = document.createElement("select");
      input.append(new Option("true", "true"), new Option("false", "false"));
    } else {
      kind = property.type === "number" || property.type === "integer" ? "number" : "string";
      input = document.createElement("input");
      input.type = kind === "number" ? "number" : "text";
      if (kind === "number") input.step = "any";
    }
    input.name = path.join(".");
    if (property.description) input.title = property.description;
    label.append(input);
    out.push({ path, kind, required: isRequired, input });
  }
}

function valueAt(object: unknown, path: string[]): unknown {
  let value = object;
  for (const key of path) value = (value as Record<string, unknown> | undefined)?.[key];
  return value;
}

export class PredictionForm {
  private fields: Field[] = [];
  private usecase = "";

  constructor(private readonly form: HTMLFormElement) {}

  /** Builds the form for a use case from the OpenAPI document; false when it does not score. */
  async load(usecase: string): Promise<boolean> {
    this.usecase = usecase;
    this.form.replaceChildren();
    this.fields = [];
    const { body } = await getJson<{
      paths: Record<
        string,
        { post?: { requestBody?: { content: Record<string, { schema: Schema }> } } }
      >;
    }>("/openapi.json");
    const schema =
      body.paths[`/api/v1/${usecase}/score`]?.post?.requestBody?.content["application/json"]
        ?.schema;
    if (!schema) {
      this.form.append(el("div", `${usecase} does not score events`, "muted"));
      return false;
    }
    fieldsOf(schema, [], true, this.fields);
    for (const field of this.fields) this.form.append(field.input.parentElement as HTMLElement);
    return true;
  }

  fill(event: unknown): void {
    for (const field of this.fields) {
      const value = valueAt(event, field.path);
      field.input.value = value === undefined || value === null ? "" : String(value);
    }
  }

  event(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const field of this.fields) {
      const raw = field.input.value;
      if (raw === "" && !field.required) continue;
      const value =
        field.kind === "number" ? Number(raw) : field.kind === "boolean" ? raw === "true" : raw;
      let target = out;
      for (const key of field.path.slice(0, -1)) {
        target[key] ??= {};
        target = target[key] as Record<string, unknown>;
      }
      target[field.path[field.path.length - 1] as string] = value;
    }
    return out;
  }

  async randomize(): Promise<void> {
    const { body } = await getJson<unknown>(`/api/v1/${this.usecase}/example`);
    this.fill(body);
  }

  async score(apply: boolean): Promise<void> {
    const result = byId("prediction-result");
    const table = byId("prediction-features").querySelector("tbody") as HTMLElement;
    // Explained: the features come back with what each added to the score, largest first.
    const query = `?explain=true${apply ? "&apply=true" : ""}`;
    const response = await fetch(`/api/v1/${this.usecase}/score${query}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(this.event()),
    });
    const body = (await response.json()) as Record<string, unknown>;
    table.replaceChildren();
    if (!response.ok) {
      result.replaceChildren(el("span", `${response.status}: ${String(body.error)}`, "flag"));
      return;
    }
    const decision = String(body.decision);
    result.replaceChildren(
      el("span", "score "),
      el("strong", fmt(body.score, 4), "score-value"),
      el("span", " → "),
      el("span", decision, decision === "flag" ? "flag" : "pass"),
      el(
        "span",
        ` (threshold ${fmt(body.threshold, 4)}, model v${fmt(body.model_version)}, ${fmt(body.latency_ms, 2)} ms, entity ${body.entity_known ? "known" : "new"})`,
        "muted",
      ),
    );
    const explanation = body.explanation as Explanation | null | undefined;
    if (explanation) {
      table.append(row(["feature", "value", "log-odds added"]));
      for (const c of explanation.contributions) {
        const added = el("span", `${c.contribution >= 0 ? "+" : ""}${fmt(c.contribution, 3)}`);
        if (c.contribution > 0) added.className = "flag";
        table.append(row([c.feature, fmt(c.value, 4), added]));
      }
      return;
    }
    if (body.explanation_unavailable) {
      table.append(
        row([el("span", `not explained: ${String(body.explanation_unavailable)}`, "muted")]),
      );
    }
    for (const [name, value] of Object.entries(body.features as Record<string, number>)) {
      table.append(row([name, fmt(value, 4)]));
    }
  }
}
