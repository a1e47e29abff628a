import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { counterModel } from "../../models/counter/model.ts";
import { type EmbeddedLog, openEmbeddedLog } from "../log/embedded/index.ts";
import type { LogRecord, StoredRecord } from "../log/log.ts";
import { partitionForString } from "../log/partitioner.ts";
import { silentLogger } from "../logger.ts";
import { SOURCE_TOPIC_HEADER } from "../shard/shard.ts";
import { Rekeyer } from "./rekeyer.ts";

// Hooks start servers, processes or big fixtures: bunfig's timeout covers tests, not hooks (5 s).
setDefaultTimeout(120_000);

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

let dir: string;
let log: EmbeddedLog;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "coelho-rekey-"));
  log = await openEmbeddedLog({ dir });
  for (const name of ["raw", "keyed", "target", "raw.dlq", "keyed.dlq"]) {
    await log.ensureTopic({ name, partitions: 3 });
  }
});
afterAll(async () => {
  await log.close();
  rmSync(dir, { recursive: true, force: true });
});

async function readAll(topic: string): Promise<(StoredRecord & { partition: number })[]> {
  const out: (StoredRecord & { partition: number })[] = [];
  for (let p = 0; p < 3; p++) {
    for (const r of await log.read(topic, p, 0, 1000)) out.push({ ...r, partition: p });
  }
  return out;
}

async function feed(rekeyer: Rekeyer<unknown>, topic: string, records: LogRecord[]) {
  await log.append(topic, 0, records);
  const stored = await log.read(topic, 0, 0, 1000);
  await rekeyer.onBatch({ topic, partition: 0 }, stored);
}

describe("re-keying", () => {
  let made: Rekeyer<unknown> | null = null;
  const rekeyer = () =>
    (made ??= new Rekeyer({
      model: counterModel("target"),
      log,
      group: "rekey",
      targetTopic: "target",
      maxEventBytes: 1024,
      logger: silentLogger,
    }));

  test("unkeyed input is keyed by the entity in its body, onto that key's partition; bad input goes to the source's dead letters", async () => {
    await feed(rekeyer(), "raw", [
      { key: null, value: bytes('{"key":"alice","value":1}') },
      { key: bytes("bob"), value: bytes('{"key":"carol","value":2}') },
      { key: null, value: bytes("not json") },
    ]);
    const target = await readAll("target");
    expect(target.map((r) => text(r.key)).sort()).toEqual(["alice", "carol"]);
    for (const r of target) {
      expect(r.partition).toBe(partitionForString(text(r.key) as string, 3));
      expect(r.headers[SOURCE_TOPIC_HEADER]).toBe("raw");
    }
    const dead = await readAll("raw.dlq");
    expect(dead.map((r) => text(r.value))).toEqual(["not json"]);
    expect(dead[0]?.headers["coelho.dlq.offset"]).toBe("2");
    expect(await log.committed("rekey", { topic: "raw", partition: 0 })).toBe(3);
  });

  test("source positions are committed at most every commitIntervalMs, and once the stream goes quiet", async () => {
    const paced = new Rekeyer({
      model: counterModel("target"),
      log,
      group: "rekey-paced",
      targetTopic: "target",
      maxEventBytes: 1024,
      commitIntervalMs: 100,
      logger: silentLogger,
    });
    const tp = { topic: "raw", partition: 2 };
    for (let i = 0; i < 3; i++) {
      await log.append("raw", 2, [{ key: null, value: bytes(`{"key":"k${i}","value":1}`) }]);
      await paced.onBatch(tp, await log.read("raw", 2, i, 10));
    }
    expect(await log.committed("rekey-paced", tp)).toBe(1);
    await Bun.sleep(300);
    expect(await log.committed("rekey-paced", tp)).toBe(3);
    await paced.onRevoked(tp);
  });

  test("source positions are committed at most every commitIntervalMs, and on revoke", async () => {
    const lazy = new Rekeyer({
      model: counterModel("target"),
      log,
      group: "rekey-lazy",
      targetTopic: "target",
      maxEventBytes: 1024,
      commitIntervalMs: 60_000,
      logger: silentLogger,
    });
    const tp = { topic: "raw", partition: 1 };
    await log.append("raw", 1, [{ key: null, value: bytes('{"key":"gina","value":1}') }]);
    await lazy.onBatch(tp, await log.read("raw", 1, 0, 10));
    expect(await log.committed("rekey-lazy", tp)).toBe(1);
    await log.append("raw", 1, [{ key: null, value: bytes('{"key":"hal","value":1}') }]);
    await lazy.onBatch(tp, await log.read("raw", 1, 1, 10));
    // Written, not yet committed: a crash now would re-key it again, and the shard would skip it.
    expect(await log.committed("rekey-lazy", tp)).toBe(1);
    await lazy.onRevoked(tp);
    expect(await log.committed("rekey-lazy", tp)).toBe(2);
  });
});
