import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SCHEMA_VERSION } from "./schema.ts";
import { CheckpointStore, PAGE_BYTES } from "./store.ts";

const dir = mkdtempSync(join(tmpdir(), "coelho-checkpoint-"));
const bytes = (text: string) => new TextEncoder().encode(text);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("checkpoint store", () => {
  test("states and positions written together are read back, and survive a reopen", () => {
    const path = join(dir, "p0.sqlite");
    const store = new CheckpointStore(path);
    const packed = Uint8Array.from([9, 1, 2, 0, 255, 9]);
    store.write(
      [
        ["a", packed.subarray(1, 3)], // a view: only its own bytes are stored
        ["b", packed.subarray(3, 5)],
      ],
      [{ topic: "t", partition: 0, nextOffset: 10 }],
    );
    store.write([["a", bytes("3")]], [{ topic: "t", partition: 0, nextOffset: 12 }]);
    store.close();
    const again = new CheckpointStore(path);
    expect(again.lookup(["a", "b", "c"])).toEqual(
      new Map([
        ["a", bytes("3")],
        ["b", Uint8Array.from([0, 255])],
      ]),
    );
    expect(again.position("t", 0)?.nextOffset).toBe(12);
    expect(again.count()).toBe(2);
    again.close();
  });

  test("a file written by schema version 1 is upgraded with every row kept, text states as their UTF-8 bytes", () => {
    const path = join(dir, "v1.sqlite");
    const old = new Database(path, { create: true });
    old.run("PRAGMA journal_mode = WAL");
    old.run(
      "CREATE TABLE entities (key TEXT PRIMARY KEY NOT NULL, state TEXT NOT NULL) WITHOUT ROWID",
    );
    old.run(`CREATE TABLE positions (topic TEXT NOT NULL, partition INTEGER NOT NULL,
      next_offset INTEGER NOT NULL, written_at_ms INTEGER NOT NULL, PRIMARY KEY (topic, partition))`);
    const insert = old.prepare("INSERT INTO entities (key, state) VALUES (?1, ?2)");
    for (let i = 0; i < 1000; i++) insert.run(`card-${i}`, `state-${i}`);
    old.run("INSERT INTO positions VALUES ('fraud.events', 2, 4242, 1)");
    old.run("PRAGMA user_version = 1");
    old.close();

    const store = new CheckpointStore(path);
    expect(store.count()).toBe(1000);
    expect(store.lookup(["card-0", "card-999"]).get("card-999")).toEqual(bytes("state-999"));
    const scanned: Uint8Array[] = [];
    store.scan(5, (_key, state) => scanned.push(state));
    expect(scanned.every((state) => state instanceof Uint8Array)).toBe(true);
    expect(store.position("fraud.events", 2)?.nextOffset).toBe(4242);
    store.write(
      [["card-0", bytes("new")]],
      [{ topic: "fraud.events", partition: 2, nextOffset: 4243 }],
    );
    expect(store.lookup(["card-0"]).get("card-0")).toEqual(bytes("new"));
    // Schema 4's journal: empty in an upgraded file, written from then on.
    expect([...store.journal()]).toEqual([]);
    store.write([], [], { seq: 1, bytes: bytes("j1"), keepFrom: 1 });
    expect([...store.journal()]).toEqual([{ seq: 1, bytes: bytes("j1") }]);
    store.close();
    const check = new Database(path);
    const version = check.query("PRAGMA user_version").get() as { user_version: number };
    expect(version.user_version).toBe(SCHEMA_VERSION);
    const sql = (
      check.query("SELECT sql FROM sqlite_master WHERE name = 'entities'").get() as {
        sql: string;
      }
    ).sql;
    expect(sql).not.toContain("WITHOUT ROWID");
    expect(sql).toContain("state BLOB");
    check.close();
  });

  test("the processor's journal: appended with a checkpoint, trimmed to what a restore needs, gone with a replaced store", () => {
    const path = join(dir, "journal.sqlite");
    const store = new CheckpointStore(path);
    const at = (nextOffset: number) => [{ topic: "t", partition: 0, nextOffset }];
    store.write([["a", bytes("1")]], at(1), { seq: 1, bytes: bytes("one"), keepFrom: 1 });
    store.write([], at(2), { seq: 2, bytes: bytes("two"), keepFrom: 1 });
    store.write([], at(3), { seq: 3, bytes: bytes("three"), keepFrom: 2 });
    store.write([], at(4)); // a checkpoint with nothing for the journal
    const entry = Uint8Array.from([7, 7, 7, 7]);
    store.write([], at(5), { seq: 4, bytes: entry.subarray(1, 3), keepFrom: 2 });
    store.close();
    const again = new CheckpointStore(path);
    expect([...again.journal()]).toEqual([
      { seq: 2, bytes: bytes("two") },
      { seq: 3, bytes: bytes("three") },
      { seq: 4, bytes: Uint8Array.from([7, 7]) },
    ]);
    // An entry that would drop itself fails the whole checkpoint: the position stays.
    expect(() =>
      again.write([["a", bytes("2")]], at(6), { seq: 5, bytes: bytes("five"), keepFrom: 6 }),
    ).toThrow("journal entry 5 would drop itself (keepFrom 6); expected keepFrom <= seq");
    expect(again.position("t", 0)?.nextOffset).toBe(5);
    expect(again.lookup(["a"]).get("a")).toEqual(bytes("1"));
    // Restored from a changelog: the journal belonged to the old positions; the changelog's
    // own journal comes with its states.
    again.replaceAll([["b", bytes("x")]], at(9));
    expect([...again.journal()]).toEqual([]);
    again.replaceAll([["b", bytes("y")]], at(10), [
      { seq: 7, bytes: bytes("seven") },
      { seq: 8, bytes: bytes("eight") },
    ]);
    expect([...again.journal()]).toEqual([
      { seq: 7, bytes: bytes("seven") },
      { seq: 8, bytes: bytes("eight") },
    ]);
    expect(again.position("t", 0)?.nextOffset).toBe(10);
    again.close();
  });

  test("the WAL stays within its bound however many checkpoints are written", () => {
    const path = join(dir, "wal-bound.sqlite");
    const pages = 64; // 256 KiB: small, so a few checkpoints cross it
    const store = new CheckpointStore(path, { walAutocheckpointPages: pages });
    const state = new Uint8Array(1_000).fill(7);
    let largestWal = 0;
    // 40 checkpoints of 200 ~1 KB states spread over 4,000 cards: ~50-200 pages each, 6,000 in
    // all; an unbounded WAL would hold all of them (~24 MiB).
    for (let checkpoint = 0; checkpoint < 40; checkpoint++) {
      const changed: [string, Uint8Array][] = [];
      for (let i = 0; i < 200; i++)
        changed.push([`card-${(checkpoint * 197 + i * 20) % 4_000}`, state]);
      store.write(changed, [{ topic: "t", partition: 0, nextOffset: checkpoint }]);
      largestWal = Math.max(largestWal, statSync(`${path}-wal`).size);
    }
    // The bound plus one checkpoint's pages (200 states of two pages each: a 1 KB state spills
    // out of a 1 KiB page; and the B-tree's).
    expect(largestWal).toBeLessThan((pages + 600) * PAGE_BYTES);
    expect(store.count()).toBe(4_000);
    store.close();
  });

  test("a new file writes a changed state as one small page; a file made with 4 KiB pages keeps them and works", () => {
    const pageSize = (path: string) => {
      const db = new Database(path, { readonly: true });
      const size = (db.query("PRAGMA page_size").get() as { page_size: number }).page_size;
      db.close();
      return size;
    };
    const fresh = join(dir, "pages-new.sqlite");
    const store = new CheckpointStore(fresh);
    const state = new Uint8Array(680).fill(3);
    const cards = Array.from({ length: 2_000 }, (_, i): [string, Uint8Array] => [
      `card-${i}`,
      state,
    ]);
    store.write(cards, [{ topic: "t", partition: 0, nextOffset: 1 }]);
    store.close();
    expect(pageSize(fresh)).toBe(PAGE_BYTES);
    // What a checkpoint of 100 changed states out of 2,000 adds to the WAL: a page each, about.
    const again = new CheckpointStore(fresh);
    const before = statSync(`${fresh}-wal`).size;
    again.write(
      cards.filter((_, i) => i % 20 === 0),
      [{ topic: "t", partition: 0, nextOffset: 2 }],
    );
    expect(statSync(`${fresh}-wal`).size - before).toBeLessThan(150 * (PAGE_BYTES + 24));
    again.close();

    const old = join(dir, "pages-old.sqlite");
    const db = new Database(old, { create: true });
    db.run("PRAGMA page_size = 4096");
    db.run("PRAGMA journal_mode = WAL");
    db.close();
    const kept = new CheckpointStore(old);
    kept.write([["a", state]], [{ topic: "t", partition: 0, nextOffset: 3 }]);
    expect(kept.lookup(["a"]).get("a")).toEqual(state);
    kept.close();
    expect(pageSize(old)).toBe(4096);
  });

  test("a file of a newer schema is refused, naming the file and what to do", () => {
    const path = join(dir, "future.sqlite");
    const db = new Database(path, { create: true });
    db.run(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => new CheckpointStore(path)).toThrow(`${path}: checkpoint schema version`);
  });
});
