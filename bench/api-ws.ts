/**
 * Live stream benchmark (`bun run bench -- api-ws`): 200 WebSocket clients (in a separate Bun
 * process) subscribed to every channel of the fraud use case while the platform scores simulated
 * transactions; the server's CPU and memory are sampled every few seconds over a bounded run, to
 * show they stay flat (the per-client rate is bounded by sampling, not by the event rate).
 *
 * Target (issue 6): with 200 clients, server CPU and memory flat over the run.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildPlatform } from "../actors/platform.ts";
import { FRAUD_TRANSACTIONS_TOPIC } from "../models/fraud/entity.ts";
import { FRAUD_SCORES_TOPIC } from "../models/fraud/serving.ts";
import { useCases } from "../models/index.ts";
import { loadConfig } from "../runtime/config.ts";
import { silentLogger } from "../runtime/logger.ts";
import { trainFraudChampion } from "../test/support/train-champion.ts";
import { recordsWritten } from "./support/fraud-platform.ts";

/** BENCH_WS_CLIENTS=0 gives the baseline: the same stream with nobody watching. */
const CLIENTS = Number(process.env.BENCH_WS_CLIENTS ?? 200);
const RUN_SECONDS = Number(process.env.BENCH_WS_SECONDS ?? 40);
const SAMPLE_SECONDS = 4;
const EVENTS_PER_SECOND = 1_000;

/** Client mode: `clients` WebSockets on `url`; prints the messages received at the end. */
async function runClients(url: string, clients: number, seconds: number): Promise<void> {
  let messages = 0;
  let bytes = 0;
  let closed = 0;
  const sockets: WebSocket[] = [];
  for (let i = 0; i < clients; i++) {
    const ws = new WebSocket(url);
    ws.onopen = () =>
      ws.send(
        JSON.stringify({
          type: "subscribe",
          channels: ["scores", "alerts", "metrics", "drift", "model"],
          usecase: "fraud",
        }),
      );
    ws.onmessage = (e) => {
      messages++;
      bytes += String(e.data).length;
    };
    ws.onclose = () => closed++;
    sockets.push(ws);
  }
  await Bun.sleep(seconds * 1000);
  for (const ws of sockets) ws.close();
  console.log(JSON.stringify({ messages, bytes, closed }));
}

async function bench(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "coelho-bench-ws-"));
  const trained = await trainFraudChampion(dataDir, { days: 30, cards: 1000 });
  if (trained.code !== 0) throw new Error("training the champion failed");
  const config = loadConfig({
    COELHO_DATA_DIR: dataDir,
    COELHO_HTTP_PORT: "0",
    COELHO_USECASES: "fraud",
    COELHO_SIMULATE: "true",
    COELHO_SIMULATE_RATE: String(EVENTS_PER_SECOND),
    COELHO_AUTO_TRAIN: "false",
    COELHO_LOG_FSYNC: "never",
  });
  const platform = await buildPlatform(config, useCases(config), { logger: silentLogger });
  await platform.root.start();
  for (let i = 0; i < 600; i++) {
    if ((await platform.notReadyReasons()).length === 0) break;
    await Bun.sleep(100);
  }
  // A first start writes the simulated world's 30 days of history first (docs/fraud.md), which
  // the shards then score as fast as they can: the samples start once they are live.
  for (let i = 0; i < 1200; i++) {
    const [transactions, scores] = await Promise.all([
      recordsWritten(platform.log, FRAUD_TRANSACTIONS_TOPIC),
      recordsWritten(platform.log, FRAUD_SCORES_TOPIC),
    ]);
    if (transactions > 100_000 && transactions - scores < 2 * EVENTS_PER_SECOND) break;
    await Bun.sleep(100);
  }
  await Bun.sleep(3_000); // the stream settles before the first sample
  const clients = Bun.spawn(
    [
      "bun",
      join(import.meta.dir, "api-ws.ts"),
      "clients",
      `ws://127.0.0.1:${platform.httpPort()}/ws`,
      String(CLIENTS),
      String(RUN_SECONDS),
    ],
    { stdout: "pipe", stderr: "inherit" },
  );
  const rows: { t: number; cpu: number; rss: number; heap: number }[] = [];
  let cpu = process.cpuUsage();
  let wall = performance.now();
  for (let t = SAMPLE_SECONDS; t <= RUN_SECONDS; t += SAMPLE_SECONDS) {
    await Bun.sleep(SAMPLE_SECONDS * 1000);
    const used = process.cpuUsage(cpu);
    const elapsedUs = (performance.now() - wall) * 1000;
    cpu = process.cpuUsage();
    wall = performance.now();
    Bun.gc(true); // a full collection: the heap figure is then what is live, not garbage
    const memory = process.memoryUsage();
    rows.push({
      t,
      cpu: (100 * (used.user + used.system)) / elapsedUs,
      rss: memory.rss / 2 ** 20,
      heap: memory.heapUsed / 2 ** 20,
    });
    const row = rows.at(-1) as (typeof rows)[number];
    console.log(
      `t=${String(t).padStart(3)} s  cpu ${row.cpu.toFixed(0).padStart(3)} %  rss ${row.rss.toFixed(0)} MB  heap ${row.heap.toFixed(0)} MB`,
    );
  }
  const out = await new Response(clients.stdout).text();
  await clients.exited;
  const received = JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as {
    messages: number;
    bytes: number;
  };
  const half = Math.floor(rows.length / 2);
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const first = rows.slice(1, half); // the first sample includes the 200 connections opening
  const second = rows.slice(half);
  console.log(
    `${CLIENTS} clients, ${EVENTS_PER_SECOND} events/s, ${RUN_SECONDS} s: ${received.messages} messages (${(received.messages / Math.max(1, CLIENTS) / RUN_SECONDS).toFixed(1)}/s per client, ${(received.bytes / 2 ** 20).toFixed(1)} MB)`,
  );
  console.log(
    `server cpu ${avg(first.map((r) => r.cpu)).toFixed(0)} % -> ${avg(second.map((r) => r.cpu)).toFixed(0)} %, rss ${avg(first.map((r) => r.rss)).toFixed(0)} -> ${avg(second.map((r) => r.rss)).toFixed(0)} MB, heap ${avg(first.map((r) => r.heap)).toFixed(0)} -> ${avg(second.map((r) => r.heap)).toFixed(0)} MB (first half -> second half)`,
  );
  await platform.root.stop(5_000);
  await platform.log.close();
  rmSync(dataDir, { recursive: true, force: true });
}

if (process.argv[2] === "clients") {
  const [, , , url, clients, seconds] = process.argv;
  await runClients(url as string, Number(clients), Number(seconds));
  process.exit(0);
} else {
  await bench();
  process.exit(0);
}
