/**
 * A small client of the MLflow tracking server's REST API (`/api/2.0/mlflow/...`) and its
 * artifact proxy (`/api/2.0/mlflow-artifacts/artifacts/...`): JSON calls with a timeout, and
 * MLflow's error codes kept on the error so callers can tell "not found" from "unreachable".
 */
import { CoelhoError } from "../../runtime/errors.ts";

/** MLflow answered with an error (`error_code` as MLflow names it), or could not be reached. */
export class MlflowError extends CoelhoError {
  readonly mlflowCode: string;
  readonly status: number;
  /** True when retrying later may work (unreachable, timeout, 5xx). */
  readonly retriable: boolean;
  constructor(message: string, mlflowCode: string, status: number, cause?: unknown) {
    super("mlflow", message, cause === undefined ? undefined : { cause });
    this.mlflowCode = mlflowCode;
    this.status = status;
    this.retriable = status === 0 || status >= 500;
  }
}

/** True when MLflow answered that the resource does not exist. */
export function isNotFound(error: unknown): boolean {
  return (
    error instanceof MlflowError &&
    (error.mlflowCode === "RESOURCE_DOES_NOT_EXIST" ||
      (error.mlflowCode === "INVALID_PARAMETER_VALUE" && /not found/i.test(error.message)))
  );
}

export interface MlflowClientOptions {
  /** The tracking server, e.g. `http://127.0.0.1:5000`. */
  url: string;
  /** Per request. Default 10 s. */
  timeoutMs?: number;
}

export class MlflowClient {
  readonly url: string;
  private readonly timeoutMs: number;
  private readonly experimentIds = new Map<string, string>();

  constructor(options: MlflowClientOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw new CoelhoError(
        "validation",
        `mlflow url: "${options.url}" is not a URL; expected http://host:port`,
      );
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new CoelhoError(
        "validation",
        `mlflow url: "${options.url}" is not http(s); expected http://host:port`,
      );
    }
    this.url = options.url.replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** GET with query parameters. */
  get<T>(path: string, query: Record<string, string | number>): Promise<T> {
    const qs = new URLSearchParams(
      Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]),
    ).toString();
    return this.call<T>("GET", `/api/2.0/mlflow/${path}?${qs}`);
  }

  /**
   * The id of the experiment named `name`, created when it does not exist (another process
   * creating it at the same moment is fine: its id is read back). Remembered per client: an
   * experiment's id never changes.
   */
  async experimentId(name: string): Promise<string> {
    const known = this.experimentIds.get(name);
    if (known) return known;
    const id = await this.findOrCreateExperiment(name);
    this.experimentIds.set(name, id);
    return id;
  }

  private async findOrCreateExperiment(name: string): Promise<string> {
    try {
      const { experiment } = await this.get<{ experiment: { experiment_id: string } }>(
        "experiments/get-by-name",
        { experiment_name: name },
      );
      return experiment.experiment_id;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    try {
      const created = await this.post<{ experiment_id: string }>("experiments/create", { name });
      return created.experiment_id;
    } catch (error) {
      if (!(error instanceof MlflowError && error.mlflowCode === "RESOURCE_ALREADY_EXISTS")) {
        throw error;
      }
      return this.findOrCreateExperiment(name);
    }
  }

  /** POST (or another method) with a JSON body. */
  post<T>(path: string, body: unknown, method = "POST"): Promise<T> {
    return this.call<T>(
      method,
      `/api/2.0/mlflow/${path}`,
      JSON.stringify(body),
      "application/json",
    );
  }

  /** Uploads an artifact through the server's proxy. */
  async putArtifact(path: string, bytes: Uint8Array): Promise<void> {
    await this.call(
      "PUT",
      `/api/2.0/mlflow-artifacts/artifacts/${path}`,
      bytes,
      "application/octet-stream",
    );
  }

  /** Deletes an artifact through the server's proxy; one already gone is not an error. */
  async deleteArtifact(path: string): Promise<void> {
    const response = await this.fetch("DELETE", `/api/2.0/mlflow-artifacts/artifacts/${path}`);
    if (!response.ok && response.status !== 404) {
      throw await this.failure(response, `DELETE artifact ${path}`);
    }
  }

  /** Downloads an artifact through the server's proxy. */
  async getArtifact(path: string): Promise<Uint8Array> {
    const response = await this.fetch("GET", `/api/2.0/mlflow-artifacts/artifacts/${path}`);
    if (!response.ok) throw await this.failure(response, `GET artifact ${path}`);
    return new Uint8Array(await response.arrayBuffer());
  }

  private async call<T>(
    method: string,
    path: string,
    body?: string | Uint8Array,
    contentType?: string,
  ): Promise<T> {
    const response = await this.fetch(method, path, body, contentType);
    if (!response.ok) throw await this.failure(response, `${method} ${path.split("?")[0]}`);
    const text = await response.text();
    return (text ? JSON.parse(text) : {}) as T;
  }

  private async fetch(
    method: string,
    path: string,
    body?: string | Uint8Array,
    contentType?: string,
  ): Promise<Response> {
    try {
      return await fetch(`${this.url}${path}`, {
        method,
        body,
        headers: contentType ? { "content-type": contentType } : undefined,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new MlflowError(
        `MLflow at ${this.url} did not answer ${method} ${path.split("?")[0]} within ${this.timeoutMs} ms: ${(error as Error).message}`,
        "UNREACHABLE",
        0,
        error,
      );
    }
  }

  private async failure(response: Response, what: string): Promise<MlflowError> {
    const text = await response.text().catch(() => "");
    let code = `HTTP_${response.status}`;
    let message = text.slice(0, 500);
    try {
      const parsed = JSON.parse(text) as { error_code?: string; message?: string };
      code = parsed.error_code ?? code;
      message = parsed.message ?? message;
    } catch {
      // Not JSON (a proxy's error page): keep the text.
    }
    return new MlflowError(`MLflow ${what}: ${code}: ${message}`, code, response.status);
  }
}
