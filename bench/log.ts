/**
 * Embedded log throughput: durable appends and reads, each beside a raw-file baseline doing the
 * same I/O in the same run, so the ratio says what the log's encoding, CRCs and bookkeeping cost.
 *
 *   bun bench/log.ts
 *
 * Targets (2-core machine): ≥ 300k durable appends/s in batches of 1000 records of ~100 bytes,
 * ≥ 1M reads/s in batches of 1000 from any offset.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { openEmbeddedLog } from "../runtime/log/embedded/index.ts";
import type { LogRecord } from "../runtime/log/log.ts";

const BATCH_RECORDS = 1000;
const VALUE_BYTES = 100;
const APPEND_BATCHES = 600;
const READ_BATCHES = 2000;
const TARGET_APPENDS_PER_SECOND = 300_000;
const TARGET_READS_PER_SECOND = 1_000_000;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "coelho-bench-log-"));
const utf8 = new TextEncoder();

function makeBatch(batch: number): LogRecord[] {
  const records: LogRecord[] = [];
  for (let i = 0; i < BATCH_RECORDS; i++) {
    const value = new Uint8Array(VALUE_BYTES);
    value.fill((batch + i) & 0xff);
    records.push({ key: utf8.encode(`entity-${(batch * BATCH_RECORDS + i) % 100_000}`), value });
  }
  return records;
}

function perSecond(count: number, ms: number): number {
  return (count / ms) * 1000;
}

function fmt(rate: number): string {
  return rate >= 1e6 ? `${(rate / 1e6).toFixed(2)}M` : `${Math.round(rate / 1000)}k`;
}

/** Raw baseline: writeSync + fdatasyncSync of batches of the same size as the log writes. */
function rawAppend(batchBytes: number): number {
  const file = path.join(dir, "raw.bin");
  const fd = fs.openSync(file, "w");
  const bytes = new Uint8Array(batchBytes).fill(7);
  const start = performance.now();
  for (let i = 0; i < APPEND_BATCHES; i++) {
    fs.writeSync(fd, bytes);
    fs.fdatasyncSync(fd);
  }
  const ms = performance.now() - start;
  fs.closeSync(fd);
  return perSecond(APPEND_BATCHES * BATCH_RECORDS, ms);
}

/** Raw baseline: readSync of a batch's worth of bytes at random positions of the raw file. */
function rawRead(batchBytes: number): number {
  const file = path.join(dir, "raw.bin");
  const fd = fs.openSync(file, "r");
  const size = fs.fstatSync(fd).size;
  const buffer = new Uint8Array(batchBytes);
  const start = performance.now();
  for (let i = 0; i < READ_BATCHES; i++) {
    const position = Math.floor(Math.random() * (size - batchBytes));
    fs.readSync(fd, buffer, 0, batchBytes, position);
  }
  const ms = performance.now() - start;
  fs.closeSync(fd);
  return perSecond(READ_BATCHES * BATCH_RECORDS, ms);
}

async function main(): Promise<void> {
  const batches = Array.from({ length: 8 }, (_, i) => makeBatch(i));
  const log = await openEmbeddedLog({ dir: path.join(dir, "log"), fsync: "always" });
  await log.ensureTopic({ name: "bench", partitions: 4 });

  // Warm up the JIT and the files.
  for (let i = 0; i < 20; i++) await log.append("bench", 3, batches[i % 8] as LogRecord[]);
  const recordBytes = Math.round(
    (await log.read("bench", 3, 0, BATCH_RECORDS)).reduce(
      (sum, r) => sum + (r.key?.length ?? 0) + r.value.length,
      0,
    ) / BATCH_RECORDS,
  );

  let start = performance.now();
  for (let i = 0; i < APPEND_BATCHES; i++) {
    await log.append("bench", 0, batches[i % 8] as LogRecord[]);
  }
  const appendRate = perSecond(APPEND_BATCHES * BATCH_RECORDS, performance.now() - start);
  const logBytes = fs
    .readdirSync(path.join(dir, "log/topics/bench/0"))
    .reduce((sum, name) => sum + fs.statSync(path.join(dir, "log/topics/bench/0", name)).size, 0);
  const batchBytes = Math.round(logBytes / APPEND_BATCHES);
  const rawAppendRate = rawAppend(batchBytes);
  console.log(
    `log.append(fsync=always,batch=${BATCH_RECORDS},${VALUE_BYTES}B value+${recordBytes - VALUE_BYTES}B key): ` +
      `${fmt(appendRate)} rec/s (target ≥ ${fmt(TARGET_APPENDS_PER_SECOND)}); ` +
      `raw writeSync+fdatasyncSync of the same ${batchBytes} B batches: ${fmt(rawAppendRate)} rec/s; ` +
      `ratio ${(appendRate / rawAppendRate).toFixed(2)}`,
  );

  // Four partitions appended concurrently: their fsyncs overlap on the I/O thread pool.
  start = performance.now();
  for (let i = 0; i < APPEND_BATCHES / 4; i++) {
    await Promise.all(
      [0, 1, 2, 3].map((p) => log.append("bench", p, batches[(i + p) % 8] as LogRecord[])),
    );
  }
  const parallelRate = perSecond(APPEND_BATCHES * BATCH_RECORDS, performance.now() - start);
  console.log(
    `log.append(fsync=always,batch=${BATCH_RECORDS},4 partitions concurrently): ${fmt(parallelRate)} rec/s`,
  );

  // Keyed produce: partitioning by murmur2 plus the appends.
  start = performance.now();
  for (let i = 0; i < APPEND_BATCHES / 4; i++) {
    await log.produce("bench", batches[i % 8] as LogRecord[]);
  }
  const produceRate = perSecond((APPEND_BATCHES / 4) * BATCH_RECORDS, performance.now() - start);
  console.log(
    `log.produce(fsync=always,batch=${BATCH_RECORDS},keyed,4 partitions): ${fmt(produceRate)} rec/s`,
  );

  // Random-offset reads of 1000 records over partition 0 (600k records, several segments' worth).
  const end = await log.endOffset("bench", 0);
  for (let i = 0; i < 200; i++) await log.read("bench", 0, Math.floor(Math.random() * end), 1000);
  start = performance.now();
  let read = 0;
  for (let i = 0; i < READ_BATCHES; i++) {
    const from = Math.floor(Math.random() * (end - BATCH_RECORDS));
    read += (await log.read("bench", 0, from, BATCH_RECORDS)).length;
  }
  const readRate = perSecond(read, performance.now() - start);
  const rawReadRate = rawRead(batchBytes);
  console.log(
    `log.read(batch=${BATCH_RECORDS},random offsets,CRC checked): ${fmt(readRate)} rec/s ` +
      `(target ≥ ${fmt(TARGET_READS_PER_SECOND)}); raw readSync of the same ${batchBytes} B: ` +
      `${fmt(rawReadRate)} rec/s; ratio ${(readRate / rawReadRate).toFixed(2)}`,
  );
  await log.close();

  const unchecked = await openEmbeddedLog({
    dir: path.join(dir, "log"),
    fsync: "always",
    verifyReads: false,
  });
  start = performance.now();
  read = 0;
  for (let i = 0; i < READ_BATCHES; i++) {
    const from = Math.floor(Math.random() * (end - BATCH_RECORDS));
    read += (await unchecked.read("bench", 0, from, BATCH_RECORDS)).length;
  }
  const uncheckedRate = perSecond(read, performance.now() - start);
  console.log(
    `log.read(batch=${BATCH_RECORDS},random offsets,verifyReads=false): ${fmt(uncheckedRate)} rec/s`,
  );

  // Reopen time: the scan that rebuilds the indexes and checks the tail.
  await unchecked.close();
  start = performance.now();
  const reopened = await openEmbeddedLog({ dir: path.join(dir, "log"), fsync: "always" });
  const reopenMs = performance.now() - start;
  const totalRecords = (
    await Promise.all([0, 1, 2, 3].map((p) => reopened.endOffset("bench", p)))
  ).reduce((a, b) => a + b, 0);
  const totalBytes = [0, 1, 2, 3]
    .flatMap((p) => {
      const partitionDir = path.join(dir, "log/topics/bench", String(p));
      return fs.readdirSync(partitionDir).map((name) => path.join(partitionDir, name));
    })
    .reduce((sum, file) => sum + fs.statSync(file).size, 0);
  console.log(
    `log.open(recover ${fmt(totalRecords)} records, ${Math.round(totalBytes / 1e6)} MB): ` +
      `${reopenMs.toFixed(0)} ms (${(totalBytes / 1e6 / reopenMs).toFixed(2)} GB/s scanned)`,
  );
  await reopened.close();
}

try {
  await main();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
