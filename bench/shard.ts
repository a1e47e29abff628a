/**
 * Shard path and restore benchmarks (`bun bench/shard.ts`).
 *
 * - Shard path: events/s from the embedded log through the consumer, the shard actor's mailbox
 *   and a counter entity, printed with the ratio to a bare loop that decodes the same records and
 *   applies the same update to a Map, in the same run.
 * - Restore: seconds to restore 1M entity states from a checkpoint, and heap bytes per entity.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CounterState, counterModel } from "../models/counter/model.ts";
import { Supervisor } from "../runtime/actor/supervisor.ts";
import { CheckpointStore } from "../runtime/checkpoint/store.ts";
import { openEmbeddedLog } from "../runtime/log/embedded/index.ts";
import type { LogRecord } from "../runtime/log/log.ts";
import { createLogger, setLogLevel } from "../runtime/logger.ts";
import { Shard } from "../runtime/shard/shard.ts";
import { ShardManager } from "../runtime/shard/shard-manager.ts";

setLogLevel("error");
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const KEYS = 100_000;
const encoder = new TextEncoder();
const model = counterModel("bench.events");
const logger = createLogger({ bench: "shard" });

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(0)}k`;
}

async function shardPath(dir: string): Promise<void> {
  const log = await openEmbeddedLog({ dir: join(dir, "log"), fsync: "never" });
  await log.ensureTopic({ name: model.inputTopic, partitions: 1 });
  for (let i = 0; i < EVENTS; i += 10_000) {
    const batch: LogRecord[] = [];
    for (let j = i; j < Math.min(EVENTS, i + 10_000); j++) {
      const key = `key-${j % KEYS}`;
      batch.push({
        key: encoder.encode(key),
        value: encoder.encode(`{"key":"${key}","value":${j % 100}}`),
      });
    }
    await log.append(model.inputTopic, 0, batch);
  }

  // Baseline: the same records, decoded and folded into a Map in a bare loop.
  const records = [];
  for (let offset = 0; offset < EVENTS; ) {
    const read = await log.read(model.inputTopic, 0, offset, 10_000);
    records.push(...read);
    offset += read.length;
  }
  let started = performance.now();
  const map = new Map<string, CounterState>();
  for (const record of records) {
    const event = model.decode(record, model.inputTopic);
    const key = model.key(event);
    map.set(key, model.update(map.get(key) ?? model.initial(key), event));
  }
  const bareSeconds = (performance.now() - started) / 1000;
  records.length = 0;

  const supervisor = new Supervisor(
    "bench",
    { strategy: "one_for_one", maxRestarts: 1, periodMs: 1000, backoffMinMs: 1, backoffMaxMs: 1 },
    [],
  );
  await supervisor.start();
  const manager = new ShardManager({
    model,
    log,
    group: "bench",
    supervisor,
    dataDir: dir,
    maxEntitiesPerShard: 1_000_000,
    entityIdleMs: 3_600_000,
    checkpointIntervalMs: 1000,
    checkpointMaxEvents: 1_000_000,
    batchMax: 5000,
    logger,
  });
  started = performance.now();
  const consumer = await log.consume({
    group: "bench",
    topics: [model.inputTopic],
    listener: manager,
    maxBatch: 5000,
  });
  for (;;) {
    const [status] = await manager.statuses();
    if (status && status.nextOffset >= EVENTS) break;
    await Bun.sleep(1);
  }
  const shardSeconds = (performance.now() - started) / 1000;
  await consumer.stop();
  await supervisor.stop(10_000);
  await log.close();
  const shardRate = EVENTS / shardSeconds;
  const bareRate = EVENTS / bareSeconds;
  console.log(
    `shard.path(counter, ${fmt(EVENTS)} events, ${fmt(KEYS)} keys): ${fmt(shardRate)} events/s (target ≥ 1M); bare Map loop ${fmt(bareRate)} events/s; ratio ${(shardRate / bareRate).toFixed(2)}`,
  );
}

async function restore(dir: string): Promise<void> {
  const n = 1_000_000;
  const path = join(dir, "restore", "p0.sqlite");
  const store = new CheckpointStore(path);
  const rows: [string, Uint8Array][] = [];
  const text = new TextEncoder();
  for (let i = 0; i < n; i++) {
    rows.push([`card-${i.toString(36).padStart(8, "0")}`, text.encode(`${i % 977},${i}`)]);
  }
  store.write(rows, [{ topic: model.inputTopic, partition: 0, nextOffset: n }]);
  store.close();
  rows.length = 0;

  const log = await openEmbeddedLog({ dir: join(dir, "restore-log"), fsync: "never" });
  await log.ensureTopic({ name: model.inputTopic, partitions: 1 });
  Bun.gc(true);
  const heapBefore = process.memoryUsage().heapUsed;
  const shard = new Shard({
    model,
    log,
    partition: 0,
    storePath: path,
    maxEntities: 2_000_000,
    idleMs: 3_600_000,
    checkpointIntervalMs: 1000,
    checkpointMaxEvents: 1_000_000,
    batchMax: 1000,
    logger,
  });
  const started = performance.now();
  await shard.restore();
  const seconds = (performance.now() - started) / 1000;
  Bun.gc(true);
  const bytesPerEntity = (process.memoryUsage().heapUsed - heapBefore) / n;
  console.log(`shard.restore(${fmt(n)} entity states): ${seconds.toFixed(2)} s (target ≤ 5 s)`);
  console.log(
    `shard.memory(counter state): ${bytesPerEntity.toFixed(0)} bytes/entity (target ≤ 300)`,
  );
  if (shard.status().entities !== n) throw new Error(`restored ${shard.status().entities} of ${n}`);
  shard.abandon();
  await log.close();
}

const dir = mkdtempSync(join(tmpdir(), "coelho-bench-shard-"));
try {
  const only = process.env.BENCH_ONLY;
  if (!only || only === "path") await shardPath(dir);
  if (!only || only === "restore") await restore(dir);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
