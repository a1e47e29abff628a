/**
 * A shard's checkpoint store: entity states, the input position they include and the batch
 * processor's journal, in one SQLite file under the data directory, written in one transaction.
 *
 * Durability: WAL with `synchronous=FULL`, so a committed checkpoint survives a process kill and
 * a power loss. Only one process may hold a shard's file at a time (the shard's owner).
 *
 * New files use 1 KiB pages ({@link PAGE_BYTES}), not SQLite's 4 KiB. A checkpoint upserts a few
 * thousand states spread over the whole table, and SQLite writes every page it changes whole
 * into the WAL: with 4 KiB pages, five ~700-byte fraud states to a page, 3,300 changed states of
 * 17,000 wrote 7.0 MB a checkpoint; with 1 KiB pages, one to a page, 2.5 MB, and the commit took
 * 21 ms instead of 36 (the same upserts on this machine). In the e2e benchmark's latency run at
 * 10k events/s the process's write() bytes fell from 48 to 35 MB/s and the disk's writes from 64
 * to 57 MB/s (SSD wear, a cloud volume's budget, a writer thread's time). Restoring 1M states takes
 * 0.93 s instead of 0.83 (`bun run bench -- shard`), and the file is ~25 % larger. A file made
 * with another page size keeps it (SQLite only changes it by rewriting the whole file).
 *
 * The WAL is copied back into the database file once it holds {@link WAL_AUTOCHECKPOINT_BYTES},
 * not SQLite's default of 1,000 pages. Every checkpoint dirties pages spread over the whole
 * table: with the default (4 MiB at 4 KiB pages), every
 * checkpoint was followed by a copy of ~11 MB of random writes into the database file and its
 * fsync. At 10k events/s that kept the disk busy (write ticks in /sys/block) 10 s out of every 6,
 * and slowed the log's fsyncs, which every event waits for. Copied once per 64 MiB instead, a
 * page updated by several checkpoints is written back once, in fewer and larger copies: 2.7 s
 * busy out of 6 (`bun run bench -- e2e-fraud`). After a copy the WAL file is cut back to that
 * size (`journal_size_limit`), so a shard's file takes at most ~64 MiB more on disk.
 */
import { Database, type Statement } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { and, eq, inArray, sql } from "drizzle-orm";
import { type BunSQLiteDatabase, drizzle } from "drizzle-orm/bun-sqlite";
import type { SourcePosition } from "../shard/changelog.ts";
import type { JournalAppend, JournalEntry } from "../shard/entity-model.ts";
import { CREATE_STATEMENTS, entities, MIGRATIONS, positions, SCHEMA_VERSION } from "./schema.ts";

/** Page size of a new checkpoint file (see above). */
export const PAGE_BYTES = 1024;
/** WAL bytes after which a commit copies the WAL back into the database. */
export const WAL_AUTOCHECKPOINT_BYTES = 64 << 20;

export interface CheckpointStoreOptions {
  /** WAL pages before a copy-back, instead of {@link WAL_AUTOCHECKPOINT_BYTES}' worth (tests). */
  walAutocheckpointPages?: number;
}

/** SQLite's bound-parameter limit is 32766; stay well under it. */
const KEYS_PER_LOOKUP_MAX = 900;

export interface Position {
  nextOffset: number;
  writtenAtMs: number;
}

export class CheckpointStore {
  readonly path: string;
  private readonly sqlite: Database;
  private readonly db: BunSQLiteDatabase;
  private readonly upsertEntity: Statement;
  private readonly upsertPosition: Statement;
  private readonly appendJournal: Statement;
  private readonly trimJournal: Statement;

  constructor(path: string, options: CheckpointStoreOptions = {}) {
    this.path = path;
    mkdirSync(dirname(path), { recursive: true });
    this.sqlite = new Database(path, { create: true, strict: true });
    // Before anything writes the file: it only applies to a new one (an existing file keeps its).
    this.sqlite.run(`PRAGMA page_size = ${PAGE_BYTES}`);
    this.sqlite.run("PRAGMA journal_mode = WAL");
    this.sqlite.run("PRAGMA synchronous = FULL");
    this.sqlite.run("PRAGMA busy_timeout = 5000");
    const pageSize = (this.sqlite.query("PRAGMA page_size").get() as { page_size: number })
      .page_size;
    const walPages =
      options.walAutocheckpointPages ?? Math.ceil(WAL_AUTOCHECKPOINT_BYTES / pageSize);
    this.sqlite.run(`PRAGMA wal_autocheckpoint = ${walPages}`);
    this.sqlite.run(`PRAGMA journal_size_limit = ${walPages * pageSize}`);
    const version = (this.sqlite.query("PRAGMA user_version").get() as { user_version: number })
      .user_version;
    if (version > SCHEMA_VERSION) {
      throw new Error(
        `${path}: checkpoint schema version ${version} is newer than this build's ${SCHEMA_VERSION}; run a newer coelho-realtime or move the file away`,
      );
    }
    this.sqlite.transaction(() => {
      // A file of an older build is upgraded step by step; a new file has version 0.
      for (let from = version; from > 0 && from < SCHEMA_VERSION; from++) {
        for (const statement of MIGRATIONS[from] ?? []) this.sqlite.run(statement);
      }
      for (const statement of CREATE_STATEMENTS) this.sqlite.run(statement);
      this.sqlite.run(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    })();
    this.db = drizzle(this.sqlite);
    // The per-row statements of a checkpoint run on bun:sqlite directly: drizzle's placeholder
    // filling doubled the cost of a 100k-row checkpoint, and this is the write path's hot loop.
    this.upsertEntity = this.sqlite.prepare(
      "INSERT INTO entities (key, state) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET state = excluded.state",
    );
    this.upsertPosition = this.sqlite.prepare(
      `INSERT INTO positions (topic, partition, next_offset, written_at_ms) VALUES (?1, ?2, ?3, ?4)
       ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset,
       written_at_ms = excluded.written_at_ms`,
    );
    // An entry written again (a checkpoint retried by a restarted run) replaces the first.
    this.appendJournal = this.sqlite.prepare(
      "INSERT OR REPLACE INTO journal (seq, bytes) VALUES (?1, ?2)",
    );
    this.trimJournal = this.sqlite.prepare("DELETE FROM journal WHERE seq < ?1");
  }

  /** The stored position of a partition, or null when this store never checkpointed it. */
  position(topic: string, partition: number): Position | null {
    const row = this.db
      .select({ nextOffset: positions.nextOffset, writtenAtMs: positions.writtenAtMs })
      .from(positions)
      .where(and(eq(positions.topic, topic), eq(positions.partition, partition)))
      .get();
    return row ?? null;
  }

  /** Number of stored entities. */
  count(): number {
    const row = this.db.select({ n: sql<number>`count(*)` }).from(entities).get();
    return row?.n ?? 0;
  }

  /**
   * Calls `visit` for up to `limit` stored entities. Uses the raw statement's iterator: restoring
   * a million states through an array of row objects would double the memory at the peak.
   */
  scan(limit: number, visit: (key: string, state: Uint8Array) => void): number {
    let n = 0;
    const statement = this.sqlite.query("SELECT key, state FROM entities LIMIT ?1");
    for (const row of statement.iterate(limit) as IterableIterator<{
      key: string;
      state: Uint8Array;
    }>) {
      visit(row.key, row.state);
      n++;
    }
    return n;
  }

  /** Encoded states of the given keys that exist in the store. */
  lookup(keys: string[]): Map<string, Uint8Array> {
    const found = new Map<string, Uint8Array>();
    for (let i = 0; i < keys.length; i += KEYS_PER_LOOKUP_MAX) {
      const chunk = keys.slice(i, i + KEYS_PER_LOOKUP_MAX);
      const rows = this.db
        .select({ key: entities.key, state: entities.state })
        .from(entities)
        .where(inArray(entities.key, chunk))
        .all();
      for (const row of rows) found.set(row.key, row.state);
    }
    return found;
  }

  /** Every stored position: the input partition's and those of re-keyed sources. */
  positions(): SourcePosition[] {
    return this.db
      .select({
        topic: positions.topic,
        partition: positions.partition,
        nextOffset: positions.nextOffset,
      })
      .from(positions)
      .all();
  }

  /** Deletes the processor's journal (one that could not be read back). */
  clearJournal(): void {
    this.sqlite.run("DELETE FROM journal");
  }

  /** The processor's journal, in order, read as iterated (a long journal is never held whole). */
  *journal(): IterableIterator<JournalEntry> {
    const statement = this.sqlite.query("SELECT seq, bytes FROM journal ORDER BY seq");
    yield* statement.iterate() as IterableIterator<JournalEntry>;
  }

  /**
   * Writes changed states, the positions they include and the processor's journal entry (if
   * any), atomically. Each position is the first offset of its topic partition that the written
   * states do not include.
   */
  write(
    changed: Iterable<[string, Uint8Array]>,
    at: SourcePosition[],
    journalEntry: Omit<JournalAppend, "dropped"> | null = null,
  ): void {
    this.sqlite.transaction(() => {
      this.writeRows(changed, at);
      if (journalEntry) {
        if (!(journalEntry.keepFrom <= journalEntry.seq)) {
          throw new RangeError(
            `journal entry ${journalEntry.seq} would drop itself (keepFrom ${journalEntry.keepFrom}); expected keepFrom <= seq`,
          );
        }
        this.appendJournal.run(journalEntry.seq, journalEntry.bytes);
        this.trimJournal.run(journalEntry.keepFrom);
      }
    })();
  }

  /**
   * Replaces everything with a state restored from elsewhere (the changelog: states, positions
   * and the processor's journal), atomically: a crash in the middle leaves the old checkpoint,
   * never a mix.
   */
  replaceAll(
    states: Iterable<[string, Uint8Array]>,
    at: SourcePosition[],
    journalEntries: Iterable<JournalEntry> = [],
  ): void {
    this.sqlite.transaction(() => {
      this.sqlite.run("DELETE FROM entities");
      this.sqlite.run("DELETE FROM positions");
      // The journal belongs to the positions it was written with: the changelog's, or none.
      this.sqlite.run("DELETE FROM journal");
      this.writeRows(states, at);
      for (const { seq, bytes } of journalEntries) this.appendJournal.run(seq, bytes);
    })();
  }

  private writeRows(changed: Iterable<[string, Uint8Array]>, at: SourcePosition[]): void {
    const writtenAtMs = Date.now();
    for (const [key, state] of changed) this.upsertEntity.run(key, state);
    for (const { topic, partition, nextOffset } of at) {
      this.upsertPosition.run(topic, partition, nextOffset, writtenAtMs);
    }
  }

  close(): void {
    this.sqlite.close();
  }
}
