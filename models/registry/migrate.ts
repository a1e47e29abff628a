/**
 * Opening the registry's SQLite file and bringing its tables up to date with drizzle's migrator,
 * which applies the SQL files of `migrations/` listed in `migrations/meta/_journal.json` (written
 * by drizzle-kit) in order, in one transaction, and records each in `__drizzle_migrations`.
 *
 * The migrator only runs migrations newer than the last one recorded, so a file written by a
 * newer build would be used silently by an older one; {@link openRegistryDatabase} refuses that.
 */
import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { type BunSQLiteDatabase, drizzle } from "drizzle-orm/bun-sqlite";
import { migrate } from "drizzle-orm/bun-sqlite/migrator";
import { CoelhoError } from "../../runtime/errors.ts";
import journal from "./migrations/meta/_journal.json";

export const MIGRATIONS_FOLDER = join(import.meta.dir, "migrations");
export const MIGRATIONS_TABLE = "__drizzle_migrations";

/** The newest migration this build knows (its journal `when`, ms). */
export const LATEST_MIGRATION_MS = Math.max(...journal.entries.map((e) => e.when));

export interface RegistryDatabase {
  sqlite: Database;
  db: BunSQLiteDatabase;
}

/**
 * Opens (creating if needed) the SQLite file at `path`: WAL, full sync (a registration is rare and
 * must survive a crash once acknowledged), foreign keys on, then migrations.
 */
export function openRegistryDatabase(path: string): RegistryDatabase {
  mkdirSync(dirname(path), { recursive: true });
  const sqlite = new Database(path, { create: true, strict: true });
  try {
    sqlite.run("PRAGMA journal_mode = WAL");
    sqlite.run("PRAGMA synchronous = FULL");
    sqlite.run("PRAGMA busy_timeout = 5000");
    // Off by default in SQLite, per connection: without it the alias → version key is decoration.
    sqlite.run("PRAGMA foreign_keys = ON");
    const applied = latestApplied(sqlite);
    if (applied !== null && applied > LATEST_MIGRATION_MS) {
      throw new CoelhoError(
        "registry_too_new",
        `${path}: the registry was migrated by a newer build (migration of ${new Date(applied).toISOString()}, this build knows up to ${new Date(LATEST_MIGRATION_MS).toISOString()}); run a newer coelho-realtime or move the file away`,
      );
    }
    const db = drizzle(sqlite);
    migrate(db, { migrationsFolder: MIGRATIONS_FOLDER, migrationsTable: MIGRATIONS_TABLE });
    return { sqlite, db };
  } catch (e) {
    sqlite.close();
    throw e;
  }
}

function latestApplied(sqlite: Database): number | null {
  const table = sqlite
    .query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?1")
    .get(MIGRATIONS_TABLE);
  if (!table) return null;
  const row = sqlite.query(`SELECT max(created_at) AS latest FROM ${MIGRATIONS_TABLE}`).get() as {
    latest: number | null;
  };
  return row.latest === null ? null : Number(row.latest);
}
