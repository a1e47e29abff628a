/**
 * Where the fraud pipeline's garbage comes from (`bun run bench -- allocation`): bytes the event
 * loop allocates per transaction at 10 000 transactions/s in embedded mode (fsync interval), and
 * how often its heap is collected. The latency tail of `bun run bench -- e2e-fraud` sits in the
 * collector's cycles, so bytes per event is the figure to bring down.
 *
 * Each configuration runs in a child process with JSC's GC log on (BUN_JSC_logGC=1); the bytes
 * counted between two collections are the heap size the second starts with minus the live size
 * the first left. That is an upper bound, not an exact count: the start size also holds the free
 * room of the heap's blocks, which allocations fill before the heap grows. An idle process with a
 * 115 MB live heap shows ~57 MB between its collections this way (one a second, from Bun's timer)
 * while allocating almost nothing. So compare configurations of one run, and read the collections
 * per second and their cycle times, which are exact, beside the bytes. A child prints a tick
 * every 50 ms to place the collections in time; three seconds after a one-second warm-up count.
 *
 * Configurations: the producer alone (the platform built, not started), the platform without a
 * champion (shards reading the keyed inputs, card state, checkpoints; nothing scored), the same with no checkpoint in
 * the window, and the platform scoring with a trained champion.
 */
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fraudEvents } from "../models/fraud/simulator/events.ts";
import { trainFraudChampion } from "../test/support/train-champion.ts";
import { benchFraudPlatform, itemOf, produceItems, untilReady } from "./support/fraud-platform.ts";
import { PackedItems } from "./support/packed-items.ts";

const RATE_PER_S = 10_000;
const WARMUP_MS = 1_000;
const MEASURED_MS = 3_000;
const TICK_MS = 50;

interface Configuration {
  name: string;
  start: boolean;
  champion: boolean;
  checkpointMs: number;
}

const CONFIGURATIONS: Configuration[] = [
  { name: "producer and log appends only", start: false, champion: false, checkpointMs: 1000 },
  { name: "platform, no champion", start: true, champion: false, checkpointMs: 1000 },
  {
    name: "platform, no champion, no checkpoint",
    start: true,
    champion: false,
    checkpointMs: 60_000,
  },
  { name: "platform scoring (champion)", start: true, champion: true, checkpointMs: 1000 },
];

if (process.argv[2] === "--child") await child(JSON.parse(process.argv[3] as string));
else await parent();

async function parent(): Promise<void> {
  const championDir = mkdtempSync(join(tmpdir(), "coelho-bench-alloc-champion-"));
  try {
    const trained = await trainFraudChampion(championDir);
    if (trained.code !== 0) throw new Error(`training failed: ${trained.stderr}`);
    for (const configuration of CONFIGURATIONS) {
      const proc = Bun.spawn(
        ["bun", import.meta.path, "--child", JSON.stringify({ ...configuration, championDir })],
        { env: { ...process.env, BUN_JSC_logGC: "1" }, stdout: "pipe", stderr: "pipe" },
      );
      const [stderr, stdout, code] = await Promise.all([
        new Response(proc.stderr).text(),
        new Response(proc.stdout).text(),
        proc.exited,
      ]);
      if (code !== 0) throw new Error(`${configuration.name}: exit ${code}: ${stdout.slice(-500)}`);
      console.log(`${configuration.name}: ${summarise(stderr)} (${stdout.trim()})`);
    }
  } finally {
    rmSync(championDir, { recursive: true, force: true });
  }
}

/**
 * The event loop's heap (the one allocating most) over the measured window, from the GC log.
 * The interval that follows a full collection is left out: that collection's end size is what it
 * marked live, but the garbage it found is swept lazily afterwards, so the next collection's start
 * size still holds it and the difference would count tens of MB that nobody allocated (an idle
 * process shows ~50 MB/s that way).
 */
function summarise(log: string): string {
  interface Cycle {
    atMs: number;
    kb: number;
    ms: number;
    afterFull: boolean;
  }
  const heaps = new Map<string, { afterKb: number; lastFull: boolean; cycles: Cycle[] }>();
  let nowMs = 0;
  // Workers' heaps log too, and their lines interleave with the event loop's: by heap.
  const started = new Map<string, { kb: number; full: boolean }>();
  for (const line of log.split("\n")) {
    const tick = /^TICK (\d+)/.exec(line);
    if (tick) {
      nowMs = Number(tick[1]);
      continue;
    }
    const start = /GC<(0x[0-9a-f]+)>: START M (\d+)kb => (\w+)/.exec(line);
    if (start) {
      started.set(start[1] as string, {
        kb: Number(start[2]),
        full: start[3] === "FullCollection",
      });
    }
    const end = /GC<(0x[0-9a-f]+)>.*=> (\d+)kb, p=[0-9.]+ms.*cycle ([0-9.]+)ms END/.exec(line);
    if (end) {
      const id = end[1] as string;
      const heap = heaps.get(id) ?? { afterKb: Number.NaN, lastFull: false, cycles: [] };
      heaps.set(id, heap);
      const cycle = started.get(id);
      if (cycle && Number.isFinite(heap.afterKb)) {
        heap.cycles.push({
          atMs: nowMs,
          kb: cycle.kb - heap.afterKb,
          ms: Number(end[3]),
          afterFull: heap.lastFull,
        });
      }
      heap.afterKb = Number(end[2]);
      heap.lastFull = cycle?.full ?? false;
      started.delete(id);
    }
  }
  let best = { kbPerS: 0, perS: 0, longestMs: 0 };
  for (const { cycles } of heaps.values()) {
    const inWindow = cycles.filter((c) => c.atMs >= WARMUP_MS && c.atMs <= WARMUP_MS + MEASURED_MS);
    let kb = 0;
    let counted = 0;
    for (let i = 1; i < inWindow.length; i++) {
      const cycle = inWindow[i] as Cycle;
      if (cycle.afterFull) continue;
      kb += cycle.kb;
      counted += cycle.atMs - (inWindow[i - 1] as Cycle).atMs;
    }
    if (counted <= 0) continue;
    const seconds = counted / 1000;
    const first = inWindow[0] as Cycle;
    const last = inWindow[inWindow.length - 1] as Cycle;
    if (kb / seconds > best.kbPerS) {
      best = {
        kbPerS: kb / seconds,
        perS: (inWindow.length - 1) / ((last.atMs - first.atMs) / 1000),
        longestMs: Math.max(...inWindow.map((c) => c.ms)),
      };
    }
  }
  if (best.kbPerS === 0) return "fewer than two collections in the window";
  const bytesPerEvent = (best.kbPerS * 1024) / RATE_PER_S;
  return `${(best.kbPerS / 1024).toFixed(0)} MB/s between the event loop's collections (at most what it allocated) = ${(bytesPerEvent / 1024).toFixed(1)} KB a transaction; ${best.perS.toFixed(1)} collections/s, longest cycle ${best.longestMs.toFixed(1)} ms`;
}

async function child(configuration: Configuration & { championDir: string }): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "coelho-bench-alloc-"));
  try {
    if (configuration.champion) {
      const registry = join(configuration.championDir, "registry.sqlite");
      cpSync(registry, join(dataDir, "registry.sqlite"));
    }
    // Simulated before the platform starts (the producers' work, not the platform's garbage), and
    // packed so that the plan is not a heap of objects in the collections measured.
    const units = new PackedItems();
    const needed = ((WARMUP_MS + MEASURED_MS) * RATE_PER_S) / 1000 + RATE_PER_S;
    for (const item of fraudEvents({ seed: 42, cards: 50_000 })) {
      units.push(itemOf(item));
      if (item.kind !== "transaction") continue;
      units.endUnit(item.event.transaction_id);
      if (units.unitCount >= needed) break;
    }
    const { platform } = await benchFraudPlatform(dataDir, {
      partitions: "3",
      fsync: "interval",
      checkpointIntervalMs: String(configuration.checkpointMs),
    });
    if (configuration.start) {
      await platform.root.start();
      if (configuration.champion) await untilReady(platform);
    }
    const { log } = platform;
    const begin = performance.now();
    const ticks = setInterval(
      () => console.error(`TICK ${Math.round(performance.now() - begin)}`),
      TICK_MS,
    );
    let sent = 0;
    while (performance.now() - begin < WARMUP_MS + MEASURED_MS && sent < units.unitCount) {
      const due = Math.min(
        units.unitCount,
        Math.floor(((performance.now() - begin) * RATE_PER_S) / 1000),
      );
      if (due > sent) {
        await produceItems(log, units.unitItems(sent, due));
        sent = due;
      }
      await Bun.sleep(1);
    }
    clearInterval(ticks);
    console.log(`${sent} transactions sent`);
    if (configuration.start) await platform.root.stop(10_000);
    await log.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  process.exit(0);
}
