import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SCHEMA_VERSION } from "./schema.ts";
import { CheckpointStore } from "./store.ts";

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

  test("a file of a newer schema is refused, naming the file and what to do", () => {
    const path = join(dir, "future.sqlite");
    const db = new Database(path, { create: true });
    db.run(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => new CheckpointStore(path)).toThrow(`${path}: checkpoint schema version`);
  });
});
