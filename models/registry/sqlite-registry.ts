/**
 * The embedded model registry: one SQLite file, `<dataDir>/registry.sqlite`, through drizzle-orm.
 *
 * Versions are rows of `model_versions` (the ONNX bytes in a BLOB, JSON fields as text), numbered
 * per use case inside an IMMEDIATE transaction, so two registrations (even from two processes)
 * never get the same number. Aliases are rows of `model_aliases` with a foreign key to their
 * version; moving one is a single upsert in one transaction, so a reader sees the old version or
 * the new one, never none. With `keepVersions`, the registration that adds a version also deletes
 * the use case's versions older than the newest `keepVersions`, except those an alias names or
 * that ever served as champion (`champion_terms`), so the file stops growing (SQLite reuses the
 * freed pages). See docs/registry.md.
 */
import type { Database } from "bun:sqlite";
import { join } from "node:path";
import { and, desc, eq, getTableColumns, lte, notInArray, sql } from "drizzle-orm";
import type { BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import { ValidationError } from "../../runtime/errors.ts";
import { RegistryClosedError, VersionNotFoundError } from "./errors.ts";
import { openRegistryDatabase } from "./migrate.ts";
import { championTerms, modelAliases, modelVersions } from "./schema.ts";
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
import {
  checkAlias,
  checkKeepVersions,
  checkLimit,
  checkUsecase,
  checkVersion,
  prepareVersion,
} from "./validate.ts";

/** The registry's file name inside the data directory. */
export const REGISTRY_FILE_NAME = "registry.sqlite";

export interface SqliteRegistryOptions {
  /** The platform's data directory; the file is `<dataDir>/registry.sqlite`. */
  dataDir?: string;
  /** Or an explicit file path (tests). One of the two is required. */
  path?: string;
  /** Clock for `createdAtMs` and `setAtMs`; tests pass a fake one. */
  nowMs?: () => number;
  /**
   * Versions kept per use case: the newest this many, plus any an alias names and any that ever
   * served as champion (never deleted, however old). Unset or null: every version is kept. At
   * least 1.
   */
  keepVersions?: number | null;
}

/** Every column but the bytes: what `list` and `alias` read. */
const { onnx: _bytes, ...infoColumns } = getTableColumns(modelVersions);

type InfoRow = { [K in keyof typeof infoColumns]: (typeof modelVersions.$inferSelect)[K] };

function toInfo(row: InfoRow): ModelVersionInfo {
  return {
    usecase: row.usecase,
    version: row.version,
    createdAtMs: row.createdAtMs,
    kind: row.kind as ModelKind,
    onnxSha256: row.onnxSha256,
    onnxBytes: row.onnxBytes,
    featureSchema: JSON.parse(row.featureSchema),
    params: JSON.parse(row.params),
    metrics: JSON.parse(row.metrics),
    trainingData: {
      fromMs: row.dataFromMs,
      toMs: row.dataToMs,
      offsets: JSON.parse(row.dataOffsets),
      source: row.dataSource,
    },
    threshold: row.threshold,
    costs: JSON.parse(row.costs),
    description: row.description,
  };
}

/**
 * Opens the registry (creating and migrating the file if needed).
 *
 * @example
 * const registry = await openSqliteRegistry({ dataDir: "./data" });
 * const v = await registry.register({ usecase: "fraud", kind: "gbt", onnx, featureSchema, … });
 * await registry.setAlias("fraud", "champion", v.version);
 */
export async function openSqliteRegistry(options: SqliteRegistryOptions): Promise<SqliteRegistry> {
  return new SqliteRegistry(options);
}

export class SqliteRegistry implements ModelRegistry {
  readonly path: string;
  private readonly sqlite: Database;
  private readonly db: BunSQLiteDatabase;
  private readonly nowMs: () => number;
  private readonly keepVersions: number | null;
  private closed = false;

  /** Prefer {@link openSqliteRegistry}. Opening is synchronous (it migrates). */
  constructor(options: SqliteRegistryOptions) {
    const path = options.path ?? (options.dataDir ? join(options.dataDir, REGISTRY_FILE_NAME) : "");
    if (!path) {
      throw new ValidationError(
        "options",
        "expected dataDir (the platform's data directory) or path",
      );
    }
    this.path = path;
    ({ sqlite: this.sqlite, db: this.db } = openRegistryDatabase(path));
    this.nowMs = options.nowMs ?? Date.now;
    this.keepVersions = checkKeepVersions(options.keepVersions);
  }

  private open(): void {
    if (this.closed) throw new RegistryClosedError(this.path);
  }

  async register(version: NewModelVersion): Promise<ModelVersion> {
    this.open();
    const p = await prepareVersion(version);
    this.open();
    const createdAtMs = this.nowMs();
    const number = this.db.transaction(
      (tx) => {
        const row = tx
          .select({ latest: sql<number | null>`max(${modelVersions.version})` })
          .from(modelVersions)
          .where(eq(modelVersions.usecase, p.usecase))
          .get();
        const next = (row?.latest ?? 0) + 1;
        tx.insert(modelVersions)
          .values({
            usecase: p.usecase,
            version: next,
            createdAtMs,
            kind: p.kind,
            onnx: Buffer.from(p.onnx.buffer, p.onnx.byteOffset, p.onnx.byteLength),
            onnxSha256: p.onnxSha256,
            onnxBytes: p.onnx.byteLength,
            featureSchema: p.featureSchemaJson,
            params: p.paramsJson,
            metrics: p.metricsJson,
            dataFromMs: p.dataFromMs,
            dataToMs: p.dataToMs,
            dataOffsets: p.offsetsJson,
            dataSource: p.dataSource,
            threshold: p.threshold,
            costs: p.costsJson,
            description: p.description,
          })
          .run();
        if (this.keepVersions !== null) {
          // Numbers are never reused (the newest is always kept), so the newest N are the N
          // numbers up to this one.
          const aliased = tx
            .select({ version: modelAliases.version })
            .from(modelAliases)
            .where(eq(modelAliases.usecase, p.usecase));
          const servedAsChampion = tx
            .select({ version: championTerms.version })
            .from(championTerms)
            .where(eq(championTerms.usecase, p.usecase));
          tx.delete(modelVersions)
            .where(
              and(
                eq(modelVersions.usecase, p.usecase),
                lte(modelVersions.version, next - this.keepVersions),
                notInArray(modelVersions.version, aliased),
                notInArray(modelVersions.version, servedAsChampion),
              ),
            )
            .run();
        }
        return next;
      },
      // IMMEDIATE takes the write lock before reading the latest number: no two writers read it.
      { behavior: "immediate" },
    );
    const stored = await this.get(p.usecase, number);
    if (!stored) throw new Error(`${p.usecase}: version ${number} vanished after its insert`);
    return stored;
  }

  async get(usecase: string, version: number): Promise<ModelVersion | null> {
    this.open();
    checkUsecase(usecase);
    checkVersion(version);
    const row = this.db
      .select()
      .from(modelVersions)
      .where(and(eq(modelVersions.usecase, usecase), eq(modelVersions.version, version)))
      .get();
    if (!row) return null;
    const bytes = row.onnx;
    return {
      ...toInfo(row),
      onnx: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    };
  }

  async list(usecase: string, options: ListOptions = {}): Promise<ModelVersionInfo[]> {
    this.open();
    checkUsecase(usecase);
    const limit = checkLimit(options);
    return this.db
      .select(infoColumns)
      .from(modelVersions)
      .where(eq(modelVersions.usecase, usecase))
      .orderBy(desc(modelVersions.version))
      .limit(limit)
      .all()
      .map(toInfo);
  }

  async setAlias(usecase: string, alias: AliasName, version: number): Promise<AliasAssignment> {
    this.open();
    checkUsecase(usecase);
    checkAlias(alias);
    checkVersion(version);
    const setAtMs = this.nowMs();
    this.db.transaction(
      (tx) => {
        const exists = tx
          .select({ version: modelVersions.version })
          .from(modelVersions)
          .where(and(eq(modelVersions.usecase, usecase), eq(modelVersions.version, version)))
          .get();
        if (!exists) {
          const latest = tx
            .select({ latest: sql<number | null>`max(${modelVersions.version})` })
            .from(modelVersions)
            .where(eq(modelVersions.usecase, usecase))
            .get();
          throw new VersionNotFoundError(usecase, version, latest?.latest ?? null);
        }
        if (alias === "champion") {
          const current = tx
            .select({ version: modelAliases.version })
            .from(modelAliases)
            .where(and(eq(modelAliases.usecase, usecase), eq(modelAliases.alias, alias)))
            .get();
          if (current?.version !== version) {
            tx.insert(championTerms)
              .values({ usecase, version, fromMs: setAtMs })
              .onConflictDoNothing()
              .run();
          }
        }
        tx.insert(modelAliases)
          .values({ usecase, alias, version, setAtMs })
          .onConflictDoUpdate({
            target: [modelAliases.usecase, modelAliases.alias],
            set: { version, setAtMs },
          })
          .run();
      },
      { behavior: "immediate" },
    );
    return { alias, version, setAtMs };
  }

  async deleteAlias(usecase: string, alias: AliasName): Promise<boolean> {
    this.open();
    checkUsecase(usecase);
    checkAlias(alias);
    const deleted = this.db
      .delete(modelAliases)
      .where(and(eq(modelAliases.usecase, usecase), eq(modelAliases.alias, alias)))
      .returning({ version: modelAliases.version })
      .all();
    return deleted.length > 0;
  }

  async alias(usecase: string, alias: AliasName): Promise<ModelVersionInfo | null> {
    this.open();
    checkUsecase(usecase);
    checkAlias(alias);
    // One statement: the alias and the version it names are read from the same snapshot.
    const row = this.db
      .select(infoColumns)
      .from(modelAliases)
      .innerJoin(
        modelVersions,
        and(
          eq(modelVersions.usecase, modelAliases.usecase),
          eq(modelVersions.version, modelAliases.version),
        ),
      )
      .where(and(eq(modelAliases.usecase, usecase), eq(modelAliases.alias, alias)))
      .get();
    return row ? toInfo(row) : null;
  }

  async aliases(usecase: string): Promise<AliasAssignment[]> {
    this.open();
    checkUsecase(usecase);
    const rows = this.db
      .select({
        alias: modelAliases.alias,
        version: modelAliases.version,
        setAtMs: modelAliases.setAtMs,
      })
      .from(modelAliases)
      .where(eq(modelAliases.usecase, usecase))
      .orderBy(modelAliases.alias)
      .all();
    return rows.map((r) => ({ ...r, alias: r.alias as AliasName }));
  }

  async championTerms(usecase: string, options: ListOptions = {}): Promise<ChampionTerm[]> {
    this.open();
    checkUsecase(usecase);
    const limit = checkLimit(options);
    return this.db
      .select({ version: championTerms.version, fromMs: championTerms.fromMs })
      .from(championTerms)
      .where(eq(championTerms.usecase, usecase))
      .orderBy(desc(championTerms.fromMs), desc(championTerms.version))
      .limit(limit)
      .all();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sqlite.close();
  }
}
