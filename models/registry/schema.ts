/**
 * The embedded registry's tables (drizzle-orm over bun:sqlite). The SQL that creates them lives in
 * `migrations/`, generated from this file by drizzle-kit (see docs/registry.md); a test checks the
 * migrated database has exactly these columns.
 *
 * A version row is immutable once written; aliases point at versions through a foreign key, so an
 * alias can never name a version that does not exist.
 */
import { sql } from "drizzle-orm";
import {
  blob,
  check,
  foreignKey,
  integer,
  primaryKey,
  real,
  sqliteTable,
  text,
} from "drizzle-orm/sqlite-core";

export const modelVersions = sqliteTable(
  "model_versions",
  {
    usecase: text("usecase").notNull(),
    /** 1, 2, 3… per use case. */
    version: integer("version").notNull(),
    createdAtMs: integer("created_at_ms").notNull(),
    kind: text("kind").notNull(),
    onnx: blob("onnx", { mode: "buffer" }).notNull(),
    onnxSha256: text("onnx_sha256").notNull(),
    onnxBytes: integer("onnx_bytes").notNull(),
    /** JSON: the feature schema, with at least `names`. */
    featureSchema: text("feature_schema").notNull(),
    /** JSON object. */
    params: text("params").notNull(),
    /** JSON object: metric name → number. */
    metrics: text("metrics").notNull(),
    dataFromMs: integer("data_from_ms").notNull(),
    dataToMs: integer("data_to_ms").notNull(),
    /** JSON array of topic offset ranges. */
    dataOffsets: text("data_offsets").notNull(),
    dataSource: text("data_source").notNull(),
    threshold: real("threshold").notNull(),
    /** JSON object: the cost settings the threshold was chosen with. */
    costs: text("costs").notNull(),
    description: text("description").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.usecase, t.version] }),
    check("model_versions_kind", sql`${t.kind} IN ('gbt', 'logistic')`),
    check("model_versions_version", sql`${t.version} >= 1`),
  ],
);

export const modelAliases = sqliteTable(
  "model_aliases",
  {
    usecase: text("usecase").notNull(),
    alias: text("alias").notNull(),
    version: integer("version").notNull(),
    setAtMs: integer("set_at_ms").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.usecase, t.alias] }),
    foreignKey({
      name: "model_aliases_version_fk",
      columns: [t.usecase, t.version],
      foreignColumns: [modelVersions.usecase, modelVersions.version],
    }),
    check("model_aliases_alias", sql`${t.alias} IN ('champion', 'challenger')`),
  ],
);

/**
 * Every term a version served as champion, from the moment the alias moved to it. A row is
 * never deleted: the versions it names are what made decisions, and the foreign key keeps
 * retention from deleting them (an analyst disputing a months-old flag needs its model).
 */
export const championTerms = sqliteTable(
  "champion_terms",
  {
    usecase: text("usecase").notNull(),
    version: integer("version").notNull(),
    fromMs: integer("from_ms").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.usecase, t.fromMs, t.version] }),
    foreignKey({
      name: "champion_terms_version_fk",
      columns: [t.usecase, t.version],
      foreignColumns: [modelVersions.usecase, modelVersions.version],
    }),
  ],
);
