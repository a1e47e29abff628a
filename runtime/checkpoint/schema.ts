/**
 * The checkpoint store's tables (drizzle-orm over bun:sqlite). One database file per shard.
 *
 * `entities` holds each entity's encoded state and `positions` the next input offset that state
 * does not yet include. Both are written in one transaction: that pairing is what makes state
 * exactly-once across crashes.
 */
import { integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const entities = sqliteTable("entities", {
  key: text("key").primaryKey(),
  state: text("state").notNull(),
});

export const positions = sqliteTable(
  "positions",
  {
    topic: text("topic").notNull(),
    partition: integer("partition").notNull(),
    /** The first offset NOT yet applied to the stored states. */
    nextOffset: integer("next_offset").notNull(),
    /** Wall time of the checkpoint, for freshness checks on restore. */
    writtenAtMs: integer("written_at_ms").notNull(),
  },
  (t) => [primaryKey({ columns: [t.topic, t.partition] })],
);

/** Bumped when the tables change; `PRAGMA user_version` records what a file holds. */
export const SCHEMA_VERSION = 1;

export const CREATE_STATEMENTS = [
  "CREATE TABLE IF NOT EXISTS entities (key TEXT PRIMARY KEY NOT NULL, state TEXT NOT NULL) WITHOUT ROWID",
  `CREATE TABLE IF NOT EXISTS positions (
     topic TEXT NOT NULL, partition INTEGER NOT NULL,
     next_offset INTEGER NOT NULL, written_at_ms INTEGER NOT NULL,
     PRIMARY KEY (topic, partition))`,
];
