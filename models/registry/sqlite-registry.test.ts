import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { getTableConfig } from "drizzle-orm/sqlite-core";
import { tempDirs } from "../../test/support/temp-dirs.ts";
import { LATEST_MIGRATION_MS, MIGRATIONS_TABLE } from "./migrate.ts";
import { newVersion, registryContract, retentionContract } from "./registry-contract.ts";
import { championTerms, modelAliases, modelVersions } from "./schema.ts";
import { openSqliteRegistry, REGISTRY_FILE_NAME } from "./sqlite-registry.ts";

const temp = tempDirs();
function tempDir(): string {
  return temp.make("coelho-registry-");
}

registryContract("sqlite", async () => {
  const dataDir = tempDir();
  const open = () => openSqliteRegistry({ dataDir });
  return { registry: await open(), reopen: open };
});

retentionContract("sqlite", (keepVersions) =>
  openSqliteRegistry({ dataDir: tempDir(), keepVersions }),
);

describe("SQLite registry storage", () => {
  test("lives in <dataDir>/registry.sqlite, in WAL mode, with the migrated tables of schema.ts", async () => {
    const dataDir = tempDir();
    const registry = await openSqliteRegistry({ dataDir });
    await registry.close();
    const path = join(dataDir, REGISTRY_FILE_NAME);
    expect(existsSync(path)).toBe(true);
    const db = new Database(path, { readonly: true });
    try {
      const mode = db.query("PRAGMA journal_mode").get() as { journal_mode: string };
      expect(mode.journal_mode).toBe("wal");
      // The SQL migrations and the drizzle schema the code queries with must agree.
      for (const table of [modelVersions, modelAliases, championTerms]) {
        const config = getTableConfig(table);
        const columns = db.query(`PRAGMA table_info(${config.name})`).all() as {
          name: string;
          notnull: number;
          pk: number;
        }[];
        expect(columns.map((c) => c.name).sort()).toEqual(config.columns.map((c) => c.name).sort());
        expect(columns.every((c) => c.notnull === 1)).toBe(true);
      }
      for (const table of ["model_aliases", "champion_terms"]) {
        const fks = db.query(`PRAGMA foreign_key_list(${table})`).all() as {
          table: string;
          from: string;
          to: string;
        }[];
        expect(fks.map((f) => [f.table, f.from, f.to])).toEqual([
          ["model_versions", "usecase", "usecase"],
          ["model_versions", "version", "version"],
        ]);
      }
      const applied = db.query(`SELECT count(*) AS n FROM ${MIGRATIONS_TABLE}`).get() as {
        n: number;
      };
      expect(applied.n).toBe(3);
    } finally {
      db.close();
    }
  });

  test("the database itself refuses an alias to a missing version and an edited version", async () => {
    const path = join(tempDir(), "r.sqlite");
    const registry = await openSqliteRegistry({ path });
    await registry.register(newVersion("fraud"));
    await registry.close();
    const db = new Database(path);
    try {
      db.run("PRAGMA foreign_keys = ON");
      expect(() =>
        db.run(
          "INSERT INTO model_aliases (usecase, alias, version, set_at_ms) VALUES ('fraud', 'champion', 7, 0)",
        ),
      ).toThrow(/FOREIGN KEY/);
      expect(() =>
        db.run(
          "INSERT INTO model_aliases (usecase, alias, version, set_at_ms) VALUES ('fraud', 'canary', 1, 0)",
        ),
      ).toThrow(/CHECK/);
      expect(() => db.run("UPDATE model_versions SET threshold = 0.5")).toThrow(/immutable/);
      db.run(
        "INSERT INTO model_aliases (usecase, alias, version, set_at_ms) VALUES ('fraud', 'champion', 1, 0)",
      );
      expect(() => db.run("DELETE FROM model_versions")).toThrow(/FOREIGN KEY/);
    } finally {
      db.close();
    }
  });

  test("two handles on one file number concurrent registrations without gaps or duplicates", async () => {
    const dataDir = tempDir();
    const a = await openSqliteRegistry({ dataDir });
    const b = await openSqliteRegistry({ dataDir });
    try {
      const made = await Promise.all(
        Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).register(newVersion("fraud"))),
      );
      expect(made.map((v) => v.version).sort()).toEqual([1, 2, 3, 4, 5, 6]);
      expect((await a.list("fraud")).map((v) => v.version)).toEqual([6, 5, 4, 3, 2, 1]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test("a file migrated by a newer build is refused, not silently used", async () => {
    const dataDir = tempDir();
    await (await openSqliteRegistry({ dataDir })).close();
    const db = new Database(join(dataDir, REGISTRY_FILE_NAME));
    db.run(`INSERT INTO ${MIGRATIONS_TABLE} (hash, created_at) VALUES ('future', ?1)`, [
      LATEST_MIGRATION_MS + 1,
    ]);
    db.close();
    await expect(openSqliteRegistry({ dataDir })).rejects.toThrow(/newer build/);
  });

  test("a registry made before champion terms existed gets its current champion's term", async () => {
    const path = join(tempDir(), "r.sqlite");
    const registry = await openSqliteRegistry({ path });
    await registry.register(newVersion("fraud"));
    await registry.register(newVersion("fraud"));
    const { setAtMs } = await registry.setAlias("fraud", "champion", 2);
    await registry.close();
    // The file as the build before left it: no table, no record of its migration.
    const db = new Database(path);
    db.run("DROP TABLE champion_terms");
    db.run(
      `DELETE FROM ${MIGRATIONS_TABLE} WHERE created_at = (SELECT max(created_at) FROM ${MIGRATIONS_TABLE})`,
    );
    db.close();
    const migrated = await openSqliteRegistry({ path });
    try {
      expect(await migrated.championTerms("fraud")).toEqual([{ version: 2, fromMs: setAtMs }]);
    } finally {
      await migrated.close();
    }
  });

  test("a closed registry says so", async () => {
    const registry = await openSqliteRegistry({ dataDir: tempDir() });
    await registry.close();
    await expect(registry.list("fraud")).rejects.toThrow(/closed/);
  });
});

describe("SQLite registry retention (keepVersions)", () => {
  test("its file stops growing: 60 registrations take the room of a few", async () => {
    const sizeAfter = async (keepVersions: number | null, registrations: number) => {
      const dataDir = tempDir();
      const registry = await openSqliteRegistry({ dataDir, keepVersions });
      // Versions of ~64 KB each, as a small model is: bytes the file must hold.
      const onnxPadding = { description: "x".repeat(10_000) };
      for (let i = 0; i < registrations; i++) {
        await registry.register(
          newVersion("fraud", { ...onnxPadding, params: { filler: "y".repeat(54_000), i } }),
        );
      }
      await registry.close();
      // The write-ahead log is bounded by SQLite's auto-checkpoint; what is left to measure is
      // the room the versions take once it is copied back.
      const path = join(dataDir, REGISTRY_FILE_NAME);
      const db = new Database(path);
      db.run("PRAGMA wal_checkpoint(TRUNCATE)");
      db.close();
      return Bun.file(path).size;
    };
    const kept = await sizeAfter(3, 60);
    const unbounded = await sizeAfter(null, 60);
    const fewVersions = await sizeAfter(null, 6);
    expect(kept).toBeLessThanOrEqual(fewVersions);
    expect(unbounded).toBeGreaterThan(5 * kept);
  });

  test("a bound below 1 is refused, naming it", () => {
    expect(() => openSqliteRegistry({ dataDir: tempDir(), keepVersions: 0 })).toThrow(
      /keepVersions: 0; expected an integer >= 1/,
    );
  });
});
