/**
 * The cluster's model registry: a real MLflow tracking server, through its REST API.
 *
 * - One experiment per use case (`coelho/<usecase>`); registering a version makes a run in it
 *   with the parameters and metrics, and the ONNX file plus the version's full record
 *   (`coelho-version.json`: schema, params, metrics, data range, threshold, costs) as artifacts
 *   uploaded through the server's artifact proxy.
 * - One registered model per use case (named like it); each version is an MLflow model version
 *   (MLflow numbers them 1, 2, 3… per model) whose source is the run's artifacts.
 * - `champion` / `challenger` are MLflow aliases; moving one is one MLflow call, so readers see
 *   the old or the new version. MLflow keeps no time of an alias move: it is kept in a tag of the
 *   registered model (`coelho.alias.<alias>` = `<version>@<ms>`).
 *
 * - Each term as champion is a tag of the version (`coelho.champion.<ms>`): which model decided
 *   when, read back by `championTerms`.
 * - With `keepVersions`, a registration deletes the model versions older than the newest N that
 *   no alias names and that never served as champion, and their ONNX artifacts; their runs stay
 *   (tagged `coelho.pruned`), so MLflow still charts every training's metrics.
 *
 * Validation is the same as the SQLite backend's (`prepareVersion`), done before any call, so a
 * rejected model leaves nothing on the server. Versions are immutable, so their records are
 * cached (bounded). See docs/mlflow.md.
 */
import { setBounded } from "../../runtime/bounded-map.ts";
import { CoelhoError } from "../../runtime/errors.ts";
import type { Logger } from "../../runtime/logger.ts";
import { RegistryClosedError, VersionNotFoundError } from "./errors.ts";
import { isNotFound, MlflowClient, MlflowError } from "./mlflow-client.ts";
import type {
  AliasAssignment,
  AliasName,
  ChampionTerm,
  ListOptions,
  ModelKind,
  ModelRegistry,
  ModelVersion,
  ModelVersionInfo,
  NewModelVersion,
} from "./types.ts";
import { ALIASES } from "./types.ts";
import {
  checkAlias,
  checkKeepVersions,
  checkLimit,
  checkUsecase,
  checkVersion,
  prepareVersion,
} from "./validate.ts";

export interface MlflowRegistryOptions {
  /** The tracking server, e.g. `http://127.0.0.1:5000` (COELHO_MLFLOW_URL). */
  url: string;
  /** Per request. Default 10 s. */
  timeoutMs?: number;
  /** Experiment name prefix. Default `coelho/`. */
  experimentPrefix?: string;
  /**
   * Model versions kept per use case: the newest this many, plus any an alias names and any
   * that served as champion. Unset or null: every version is kept. At least 1.
   */
  keepVersions?: number | null;
  /** Where a failed deletion of old versions is reported (the registration itself succeeded). */
  logger?: Logger;
}

const RECORD_FILE = "coelho-version.json";
const ONNX_FILE = "model.onnx";
/** Cached version records (immutable, so never stale). */
const CACHE_MAX = 512;
/** Tag of a version, one per term it served as champion: `coelho.champion.<ms>`. */
const CHAMPION_TAG_PREFIX = "coelho.champion.";
/**
 * Versions deleted by one registration at most: turning retention on over years of versions
 * spreads the deletions over the next registrations instead of holding one up for minutes.
 */
const PRUNED_PER_REGISTRATION_MAX = 50;
/** Versions read when searching a model's versions (MLflow pages beyond this are not read). */
const VERSIONS_SEARCHED_MAX = 10_000;

interface MlflowModelVersion {
  name: string;
  version: string;
  creation_timestamp: number | string;
  run_id?: string;
  source: string;
  tags?: { key: string; value: string }[];
  aliases?: string[];
}

interface MlflowRegisteredModel {
  name: string;
  aliases?: { alias: string; version: string }[];
  tags?: { key: string; value: string }[];
  latest_versions?: MlflowModelVersion[];
}

/** What `coelho-version.json` holds: the version's record without number, time and bytes. */
type VersionRecord = Omit<ModelVersionInfo, "version" | "createdAtMs" | "usecase">;

/** Opens the registry on a running server (checks that it answers). */
export async function openMlflowRegistry(options: MlflowRegistryOptions): Promise<MlflowRegistry> {
  const registry = new MlflowRegistry(options);
  await registry.ping();
  return registry;
}

function sha256Hex(bytes: Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
}

export class MlflowRegistry implements ModelRegistry {
  readonly url: string;
  private readonly client: MlflowClient;
  private readonly prefix: string;
  private readonly records = new Map<string, Promise<VersionRecord>>();
  private readonly keepVersions: number | null;
  private readonly logger: Logger | undefined;
  private closed = false;

  constructor(options: MlflowRegistryOptions) {
    this.client = new MlflowClient({ url: options.url, timeoutMs: options.timeoutMs });
    this.url = this.client.url;
    this.prefix = options.experimentPrefix ?? "coelho/";
    this.keepVersions = checkKeepVersions(options.keepVersions);
    this.logger = options.logger;
  }

  /** Rejects (an MlflowError) unless the server answers. */
  async ping(): Promise<void> {
    await this.client.get("experiments/search", { max_results: 1 });
  }

  private open(): void {
    if (this.closed) throw new RegistryClosedError(this.url);
  }

  async register(version: NewModelVersion): Promise<ModelVersion> {
    this.open();
    const p = await prepareVersion(version);
    this.open();
    const experimentId = await this.experiment(p.usecase);
    const startMs = Date.now();
    const { run } = await this.client.post<{ run: { info: { run_id: string } } }>("runs/create", {
      experiment_id: experimentId,
      run_name: `${p.usecase}-${p.kind}-${startMs}`,
      start_time: startMs,
      tags: [
        { key: "coelho.usecase", value: p.usecase },
        { key: "coelho.kind", value: p.kind },
        { key: "coelho.onnx_sha256", value: p.onnxSha256 },
      ],
    });
    const runId = run.info.run_id;
    const params = JSON.parse(p.paramsJson) as Record<string, unknown>;
    const metrics = JSON.parse(p.metricsJson) as Record<string, number>;
    await this.logRun(runId, params, metrics, startMs);
    const record: VersionRecord = {
      kind: p.kind,
      onnxSha256: p.onnxSha256,
      onnxBytes: p.onnx.byteLength,
      featureSchema: JSON.parse(p.featureSchemaJson),
      params,
      metrics,
      trainingData: {
        fromMs: p.dataFromMs,
        toMs: p.dataToMs,
        offsets: JSON.parse(p.offsetsJson),
        source: p.dataSource,
      },
      threshold: p.threshold,
      costs: JSON.parse(p.costsJson),
      description: p.description,
    };
    const base = `${experimentId}/${runId}/artifacts`;
    await this.client.putArtifact(`${base}/${ONNX_FILE}`, p.onnx);
    await this.client.putArtifact(
      `${base}/${RECORD_FILE}`,
      new TextEncoder().encode(JSON.stringify(record)),
    );
    await this.client.post("runs/update", {
      run_id: runId,
      status: "FINISHED",
      end_time: Date.now(),
    });
    await this.ensureModel(p.usecase);
    const { model_version } = await this.client.post<{ model_version: MlflowModelVersion }>(
      "model-versions/create",
      {
        name: p.usecase,
        source: `mlflow-artifacts:/${base}`,
        run_id: runId,
        description: p.description.slice(0, 5000),
        tags: [
          { key: "coelho.kind", value: p.kind },
          { key: "coelho.onnx_sha256", value: p.onnxSha256 },
        ],
      },
    );
    const stored = await this.get(p.usecase, Number(model_version.version));
    if (!stored) {
      throw new Error(`${p.usecase}: version ${model_version.version} vanished after its creation`);
    }
    // The version is registered whatever happens here; what a failure leaves, the next
    // registration deletes.
    await this.deleteOldVersions(p.usecase, stored.version).catch((error: unknown) =>
      this.logger?.warn("could not delete old model versions", { usecase: p.usecase, error }),
    );
    return stored;
  }

  async get(usecase: string, version: number): Promise<ModelVersion | null> {
    this.open();
    checkUsecase(usecase);
    checkVersion(version);
    const mv = await this.modelVersion(usecase, version);
    if (!mv) return null;
    const info = await this.info(mv);
    const onnx = await this.client.getArtifact(`${this.artifactBase(mv)}/${ONNX_FILE}`);
    const sha = sha256Hex(onnx);
    if (sha !== info.onnxSha256) {
      throw new CoelhoError(
        "model_damaged",
        `${usecase}: version ${version}'s ONNX artifact on ${this.url} has checksum ${sha}; the registered one is ${info.onnxSha256} (the artifact store was altered)`,
      );
    }
    return { ...info, onnx };
  }

  async list(usecase: string, options: ListOptions = {}): Promise<ModelVersionInfo[]> {
    this.open();
    checkUsecase(usecase);
    const limit = checkLimit(options);
    const newest = (await this.versions(usecase)).slice(0, limit);
    return Promise.all(newest.map((mv) => this.info(mv)));
  }

  async setAlias(usecase: string, alias: AliasName, version: number): Promise<AliasAssignment> {
    this.open();
    checkUsecase(usecase);
    checkAlias(alias);
    checkVersion(version);
    const setAtMs = Date.now();
    if (alias === "champion") {
      // The term is tagged before the alias moves: a crash in between keeps a version that never
      // served, never deletes one that did.
      const current = (await this.aliases(usecase)).find((a) => a.alias === "champion");
      if (current?.version !== version) {
        try {
          await this.client.post("model-versions/set-tag", {
            name: usecase,
            version: String(version),
            key: `${CHAMPION_TAG_PREFIX}${setAtMs}`,
            value: new Date(setAtMs).toISOString(),
          });
        } catch (error) {
          if (!isNotFound(error)) throw error;
          throw new VersionNotFoundError(usecase, version, await this.latest(usecase));
        }
      }
    }
    try {
      await this.client.post("registered-models/alias", {
        name: usecase,
        alias,
        version: String(version),
      });
    } catch (error) {
      if (!isNotFound(error)) throw error;
      throw new VersionNotFoundError(usecase, version, await this.latest(usecase));
    }
    await this.client.post("registered-models/set-tag", {
      name: usecase,
      key: `coelho.alias.${alias}`,
      value: `${version}@${setAtMs}`,
    });
    return { alias, version, setAtMs };
  }

  async deleteAlias(usecase: string, alias: AliasName): Promise<boolean> {
    this.open();
    checkUsecase(usecase);
    checkAlias(alias);
    const set = await this.aliases(usecase);
    if (!set.some((a) => a.alias === alias)) return false;
    try {
      await this.client.post("registered-models/alias", { name: usecase, alias }, "DELETE");
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
    return true;
  }

  async alias(usecase: string, alias: AliasName): Promise<ModelVersionInfo | null> {
    this.open();
    checkUsecase(usecase);
    checkAlias(alias);
    try {
      const { model_version } = await this.client.get<{ model_version: MlflowModelVersion }>(
        "registered-models/alias",
        { name: usecase, alias },
      );
      return await this.info(model_version);
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async aliases(usecase: string): Promise<AliasAssignment[]> {
    this.open();
    checkUsecase(usecase);
    const model = await this.registeredModel(usecase);
    if (!model) return [];
    const tags = new Map((model.tags ?? []).map((t) => [t.key, t.value]));
    return (model.aliases ?? [])
      .filter((a): a is { alias: AliasName; version: string } =>
        (ALIASES as readonly string[]).includes(a.alias),
      )
      .map((a) => {
        const version = Number(a.version);
        // The tag is written after the move: it counts only when it names the same version.
        const [tagVersion, tagMs] = (tags.get(`coelho.alias.${a.alias}`) ?? "").split("@");
        const setAtMs = Number(tagVersion) === version ? Number(tagMs) || 0 : 0;
        return { alias: a.alias, version, setAtMs };
      })
      .sort((a, b) => a.alias.localeCompare(b.alias));
  }

  async championTerms(usecase: string, options: ListOptions = {}): Promise<ChampionTerm[]> {
    this.open();
    checkUsecase(usecase);
    const limit = checkLimit(options);
    const terms: ChampionTerm[] = [];
    for (const mv of await this.versions(usecase)) {
      for (const fromMs of championTermStarts(mv))
        terms.push({ version: Number(mv.version), fromMs });
    }
    return terms.sort((a, b) => b.fromMs - a.fromMs || b.version - a.version).slice(0, limit);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** The use case's model versions, newest first (tags and aliases included). */
  private async versions(usecase: string): Promise<MlflowModelVersion[]> {
    const { model_versions = [] } = await this.client.get<{
      model_versions?: MlflowModelVersion[];
    }>("model-versions/search", {
      filter: `name='${usecase}'`,
      max_results: VERSIONS_SEARCHED_MAX,
    });
    return model_versions.sort((a, b) => Number(b.version) - Number(a.version));
  }

  /**
   * Retention: deletes the model versions older than the newest `keepVersions` (by number) that
   * no alias names, that never served as champion and that coelho-realtime registered, then their
   * ONNX artifact; the run stays, tagged, with its params, metrics and record.
   */
  private async deleteOldVersions(usecase: string, newest: number): Promise<void> {
    const keep = this.keepVersions;
    if (keep === null) return;
    const stale = (await this.versions(usecase))
      .filter((mv) => Number(mv.version) <= newest - keep && isDeletable(mv))
      .slice(0, PRUNED_PER_REGISTRATION_MAX);
    for (const listed of stale) {
      // Read again just before: an alias may have moved to it since the search.
      const mv = await this.modelVersion(usecase, Number(listed.version));
      if (!mv || !isDeletable(mv)) continue;
      try {
        await this.client.post(
          "model-versions/delete",
          { name: usecase, version: mv.version },
          "DELETE",
        );
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      await this.client.deleteArtifact(`${this.artifactBase(mv)}/${ONNX_FILE}`);
      if (mv.run_id) {
        await this.client.post("runs/set-tag", {
          run_id: mv.run_id,
          key: "coelho.pruned",
          value: `model version ${mv.version} and its ONNX deleted by retention (newest ${keep} kept, and every champion)`,
        });
      }
    }
  }

  private experiment(usecase: string): Promise<string> {
    return this.client.experimentId(`${this.prefix}${usecase}`);
  }

  private async ensureModel(usecase: string): Promise<void> {
    try {
      await this.client.post("registered-models/create", { name: usecase });
    } catch (error) {
      if (!(error instanceof MlflowError && error.mlflowCode === "RESOURCE_ALREADY_EXISTS"))
        throw error;
    }
  }

  private async logRun(
    runId: string,
    params: Record<string, unknown>,
    metrics: Record<string, number>,
    timestamp: number,
  ): Promise<void> {
    // MLflow params are strings of at most 6000 characters; the exact JSON is in the record.
    const paramList = Object.entries(params).map(([key, value]) => ({
      key: key.slice(0, 250),
      value: (typeof value === "string" ? value : JSON.stringify(value)).slice(0, 6000),
    }));
    const metricList = Object.entries(metrics).map(([key, value]) => ({
      key,
      value,
      timestamp,
      step: 0,
    }));
    // log-batch takes at most 100 params and 1000 metrics per call.
    for (let i = 0; i < Math.max(paramList.length, metricList.length); i += 100) {
      await this.client.post("runs/log-batch", {
        run_id: runId,
        params: paramList.slice(i, i + 100),
        metrics: metricList.slice(i, i + 100),
      });
    }
  }

  private async modelVersion(usecase: string, version: number): Promise<MlflowModelVersion | null> {
    try {
      const { model_version } = await this.client.get<{ model_version: MlflowModelVersion }>(
        "model-versions/get",
        { name: usecase, version },
      );
      return model_version;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  private async registeredModel(usecase: string): Promise<MlflowRegisteredModel | null> {
    try {
      const { registered_model } = await this.client.get<{
        registered_model: MlflowRegisteredModel;
      }>("registered-models/get", { name: usecase });
      return registered_model;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  private async latest(usecase: string): Promise<number | null> {
    const model = await this.registeredModel(usecase);
    if (!model) return null;
    const versions = (model.latest_versions ?? []).map((v) => Number(v.version));
    return versions.length > 0 ? Math.max(...versions) : null;
  }

  /** `<experiment>/<run>/artifacts` of a version's source `mlflow-artifacts:/...`. */
  private artifactBase(mv: MlflowModelVersion): string {
    const prefix = "mlflow-artifacts:/";
    if (!mv.source.startsWith(prefix)) {
      throw new CoelhoError(
        "model_foreign",
        `${mv.name}: version ${mv.version} was not registered by coelho-realtime (source ${mv.source}); expected ${prefix}<experiment>/<run>/artifacts`,
      );
    }
    return mv.source.slice(prefix.length).replace(/^\/+/, "");
  }

  private async info(mv: MlflowModelVersion): Promise<ModelVersionInfo> {
    const key = `${mv.name}\u0000${mv.version}\u0000${mv.run_id ?? ""}`;
    let record = this.records.get(key);
    if (!record) {
      record = this.client
        .getArtifact(`${this.artifactBase(mv)}/${RECORD_FILE}`)
        .then((bytes) => JSON.parse(new TextDecoder().decode(bytes)) as VersionRecord);
      // A failed read is not cached: the next call tries again.
      record.catch(() => this.records.delete(key));
      setBounded(this.records, key, record, CACHE_MAX);
    }
    const r = await record;
    return {
      usecase: mv.name,
      version: Number(mv.version),
      createdAtMs: Number(mv.creation_timestamp),
      kind: r.kind as ModelKind,
      onnxSha256: r.onnxSha256,
      onnxBytes: r.onnxBytes,
      featureSchema: structuredClone(r.featureSchema),
      params: structuredClone(r.params),
      metrics: { ...r.metrics },
      trainingData: structuredClone(r.trainingData),
      threshold: r.threshold,
      costs: structuredClone(r.costs),
      description: r.description,
    };
  }
}

/** When each of the version's terms as champion began (its `coelho.champion.<ms>` tags). */
function championTermStarts(mv: MlflowModelVersion): number[] {
  return (mv.tags ?? [])
    .filter((t) => t.key.startsWith(CHAMPION_TAG_PREFIX))
    .map((t) => Number(t.key.slice(CHAMPION_TAG_PREFIX.length)))
    .filter((ms) => Number.isSafeInteger(ms));
}

/** Retention may delete it: registered here, no alias on it, never a champion. */
function isDeletable(mv: MlflowModelVersion): boolean {
  return (
    mv.source.startsWith("mlflow-artifacts:/") &&
    (mv.aliases ?? []).length === 0 &&
    championTermStarts(mv).length === 0
  );
}
