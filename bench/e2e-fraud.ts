/**
 * End-to-end fraud benchmark in embedded mode (`bun run bench -- e2e-fraud`): the whole platform
 * in this process (embedded log with fsync=always, shards reading transactions and labels keyed
 * by card, per-card features, the micro-batching inference actor, scores appended to `fraud.scores`),
 * serving a GBT champion trained by `bun run train fraud` (its tree count is printed).
 *
 * - Throughput: N simulated transactions (with their labels) appended as fast as the log takes
 *   them; events/s from the first append until the last score is in `fraud.scores`.
 * - Latency: an open-loop producer at 10 000 events/s (arrivals by the clock, never by earlier
 *   results): the simulator's transactions and the labels it emits between them, in its order,
 *   paced together, as the target counts events (and as the throughput run does). Labels come
 *   later in simulated time than their transactions, so their share grows as a run goes on; the
 *   line says how many of each came a second. Each label is joined to its prediction, becomes a
 *   training example and feeds online quality: work the platform does at steady state.
 *   Event-to-score latency is from just before a transaction's append to the moment a consumer of
 *   `fraud.scores` in this process reads its score: what a downstream service sees. Also printed
 *   from each transaction's scheduled arrival, which counts the stalls of this process that the
 *   producer (in the same process) waits out too; a producer elsewhere would not. A third line
 *   says where the time went on this machine's cores (Linux): the event loop's CPU per event, the
 *   share of the time it was runnable but waiting for a core, and each kind of thread's CPU. The
 *   CPU per event moves ~2 % between runs where the percentiles move 20-30 %: it is the figure
 *   that shows a change to the event loop's work.
 *
 * Targets (issue 4): >= 50k events/s; p50 <= 1 ms and p99 <= 5 ms at 10k events/s.
 *
 * Under fsync `always` a last line gives the disk's share: the same arrivals through nothing but
 * the two fdatasyncs each event's batch goes through (its input's, then its score's), once the
 * platform has stopped (`support/fsync-floor.ts`). Readers see a score before the second (the
 * scores topic is replayable), and the shard no longer waits for it before its next batch (the
 * next batch's appends do), so the floor's chain is an upper bound of the disk's share.
 *
 * Knobs (defaults are the platform's): BENCH_E2E_TRANSACTIONS (300000), BENCH_E2E_LATENCY=0 skips
 * the latency run, BENCH_E2E_LATENCY_MS (60000, measured after a 1-s warm-up: a steady state's
 * periodic costs, a full collection every 8-17 s and the checkpoint store's WAL copied back every
 * ~20 s, fall in it a few times; a window of a few seconds misses them, or takes one as a large
 * share of the run), BENCH_E2E_GC=1 collects the throughput run's garbage before the latency run
 * (else its full collection tends to fall in the latency run), BENCH_E2E_FSYNC (always),
 * BENCH_E2E_CHECKPOINT_MS (1000), BENCH_E2E_FLOOR=0 skips the disk floor,
 * BENCH_E2E_RUNTIME_NICE=0 leaves the runtime's scavenger and JIT threads at the event loop's
 * priority (runtime/thread-priority.ts), BENCH_E2E_STALLS=1 also says how many of the events over
 * 5 ms waited out a stall of the event loop (`support/event-loop-stalls.ts`; its 1-ms timer costs
 * the loop a little).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FRAUD_SCORES_TOPIC } from "../models/fraud/serving.ts";
import { fraudEvents } from "../models/fraud/simulator/events.ts";
import { openSqliteRegistry } from "../models/registry/sqlite-registry.ts";
import type { StoredRecord } from "../runtime/log/log.ts";
import { keepRuntimeThreadsInBackground } from "../runtime/thread-priority.ts";
import { trainFraudChampion } from "../test/support/train-champion.ts";
import { EventLoopStalls } from "./support/event-loop-stalls.ts";
import {
  benchFraudPlatform,
  itemOf,
  produceItems,
  recordsWritten,
  untilReady,
} from "./support/fraud-platform.ts";
import { measureFsyncFloor } from "./support/fsync-floor.ts";
import { PackedItems } from "./support/packed-items.ts";
import { quantile } from "./support/stats.ts";
import {
  eventLoopCpuSeconds,
  eventLoopSchedule,
  threadCpuBetween,
  threadCpuSeconds,
} from "./support/thread-cpu.ts";

const THROUGHPUT_TRANSACTIONS = Number(process.env.BENCH_E2E_TRANSACTIONS ?? 300_000);
const OFFERED_PER_S = 10_000;
const OPEN_LOOP_MS = Number(process.env.BENCH_E2E_LATENCY_MS ?? 60_000);
const WARMUP_MS = 1_000;
const TICK_MS = 1;
/** The end-to-end targets are stated for a tree model of at least this many trees. */
const TREES_MIN = 100;
const FSYNC = process.env.BENCH_E2E_FSYNC ?? "always";
// The runtime's background threads yield to the event loop, as `bun start` has them (actors/main.ts).
if (process.env.BENCH_E2E_RUNTIME_NICE !== "0") keepRuntimeThreadsInBackground();

/**
 * The throughput run's transactions and labels, and the latency run's, one unit per transaction
 * (with the labels the simulator emitted before it), keyed as the simulator keys them.
 */
function simulate(): { throughput: PackedItems; latency: PackedItems } {
  const events = fraudEvents({ seed: 42, cards: 50_000 });
  const throughput = new PackedItems();
  let transactions = 0;
  const latency = new PackedItems();
  const latencyCount = Math.ceil(((WARMUP_MS + OPEN_LOOP_MS) * OFFERED_PER_S) / 1000) + 1;
  for (const item of events) {
    if (transactions < THROUGHPUT_TRANSACTIONS) {
      throughput.push(itemOf(item));
      if (item.kind === "transaction") transactions++;
      continue;
    }
    latency.push(itemOf(item));
    if (item.kind === "transaction") {
      latency.endUnit(item.event.transaction_id);
      if (latency.unitCount >= latencyCount) break;
    }
  }
  return { throughput, latency };
}

const dataDir = mkdtempSync(join(tmpdir(), "coelho-bench-e2e-"));
try {
  // ---- a champion, trained as a user would ------------------------------------------------------
  const trainStarted = performance.now();
  const train = await trainFraudChampion(dataDir);
  if (train.code !== 0) throw new Error(`training failed: ${train.stderr}`);
  const registry = await openSqliteRegistry({ dataDir });
  const champion = await registry.alias("fraud", "champion");
  if (!champion) throw new Error("training registered no champion");
  await registry.close();
  // The target is stated for "a tree model of at least 100 trees"; early stopping decides.
  const trees = Number((champion.params as { bestIteration?: unknown }).bestIteration);
  console.log(
    `champion: version ${champion.version}, ${champion.kind}, ${trees} trees${trees >= TREES_MIN ? "" : ` (fewer than the ${TREES_MIN} the target is stated for)`}, params ${JSON.stringify(champion.params)} (${((performance.now() - trainStarted) / 1000).toFixed(1)} s to train)`,
  );

  // ---- the events, simulated before anything is timed -------------------------------------------
  // In a function of its own, so the simulator (50k cards and their pending labels) is garbage by
  // the time the platform runs: generating and serialising events is the producers' work (other
  // processes in a deployment), and its heap is not the platform's.
  const simulated: { throughput: PackedItems | null; latency: PackedItems } = simulate();

  // ---- the platform, in this process -------------------------------------------------------------
  const { platform } = await benchFraudPlatform(dataDir, {
    partitions: process.env.BENCH_E2E_PARTITIONS ?? "3",
    fsync: FSYNC,
    checkpointIntervalMs: process.env.BENCH_E2E_CHECKPOINT_MS ?? "1000",
  });
  await platform.root.start();
  await untilReady(platform);
  const { log } = platform;
  const partitions = await log.partitionCount(FRAUD_SCORES_TOPIC);

  const scoresWritten = () => recordsWritten(log, FRAUD_SCORES_TOPIC);

  // ---- throughput ---------------------------------------------------------------------------------
  const batchItems = simulated.throughput as PackedItems;
  const labels = batchItems.itemCount - THROUGHPUT_TRANSACTIONS;
  const before = await scoresWritten();
  const cpuBefore = process.cpuUsage();
  const loopCpuBefore = eventLoopCpuSeconds();
  const started = performance.now();
  for (let i = 0; i < batchItems.itemCount; i += 5_000) {
    await produceItems(log, batchItems.items(i, i + 5_000));
  }
  const appendedMs = performance.now() - started;
  const deadline = Date.now() + 600_000;
  while ((await scoresWritten()) - before < THROUGHPUT_TRANSACTIONS) {
    if (Date.now() > deadline) throw new Error("scores did not all arrive within 10 min");
    await Bun.sleep(5);
  }
  const seconds = (performance.now() - started) / 1000;
  // Every thread of the process (event loop, inference and checkpoint workers): on a machine with
  // few cores, whether the pipeline is bound by one thread or by the cores.
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const loopCpuAfter = eventLoopCpuSeconds();
  const loopCpu =
    loopCpuBefore === null || loopCpuAfter === null
      ? ""
      : `; event loop CPU ${(loopCpuAfter - loopCpuBefore).toFixed(1)} s, ${(((loopCpuAfter - loopCpuBefore) * 1e6) / (THROUGHPUT_TRANSACTIONS + labels)).toFixed(1)} µs an event`;
  console.log(
    `throughput: ${THROUGHPUT_TRANSACTIONS} transactions + ${labels} labels scored end to end in ${seconds.toFixed(2)} s = ${Math.round(THROUGHPUT_TRANSACTIONS / seconds)} transactions/s, ${Math.round((THROUGHPUT_TRANSACTIONS + labels) / seconds)} events/s (appends took ${(appendedMs / 1000).toFixed(2)} s; target >= 50000 events/s); process CPU ${cpuSeconds.toFixed(1)} s (${(cpuSeconds / seconds).toFixed(2)} cores)${loopCpu}`,
  );

  // Released: the throughput run's records are not needed again.
  simulated.throughput = null;
  if (process.env.BENCH_E2E_GC === "1") Bun.gc(true);

  // ---- latency at 10k/s, open loop ------------------------------------------------------------------
  if (process.env.BENCH_E2E_LATENCY === "0") {
    await platform.root.stop(10_000);
    await platform.log.close();
    process.exit(0);
  }
  /** Transaction id -> its index in the plan, until its score is read. */
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  /** From each transaction's scheduled arrival instead of its append (see below). */
  const fromSchedule: number[] = [];
  let measuring = false;
  const stalls = process.env.BENCH_E2E_STALLS === "1" ? new EventLoopStalls(5) : null;
  const decoder = new TextDecoder();
  /** Reads `topic` from its end on; `seen` gets each record's transaction id and when it was read. */
  function watchTransactionIds(
    group: string,
    topic: string,
    seen: (id: string, readAtMs: number) => void,
  ) {
    return log.consume({
      group,
      topics: [topic],
      maxBatch: 10_000,
      listener: {
        onAssigned: async (tp) => log.endOffset(tp.topic, tp.partition),
        onBatch: async (_tp, records: StoredRecord[]) => {
          const now = performance.now();
          for (const record of records) {
            const body = JSON.parse(decoder.decode(record.value)) as { transaction_id?: string };
            if (body.transaction_id !== undefined) seen(body.transaction_id, now);
          }
        },
        onRevoked: async () => {},
      },
    });
  }
  const consumer = await watchTransactionIds(
    "bench-scores-reader",
    FRAUD_SCORES_TOPIC,
    (id, now) => {
      const index = sentAt.get(id);
      if (index === undefined) return;
      sentAt.delete(id);
      if (!measuring) return;
      latencies.push(now - (appendedAt[index] as number));
      stalls?.scored(appendedAt[index] as number, now);
      fromSchedule.push(now - (begin + (planned.itemsBefore(index + 1) * 1000) / OFFERED_PER_S));
    },
  );
  const runMs = WARMUP_MS + OPEN_LOOP_MS;
  const planned = simulated.latency;
  const appendedAt = new Float64Array(planned.unitCount);
  const begin = performance.now();
  let scheduleAtMeasure: { onCpuS: number; waitingS: number } | null = null;
  let threadsAtMeasure = new Map<string, number>();
  let measuredFromMs = 0;
  let sentAtMeasure = 0;
  let itemsAtMeasure = 0;
  let sent = 0;
  let lateTicks = 0;
  while (performance.now() - begin < runMs && sent < planned.unitCount) {
    const elapsed = performance.now() - begin;
    if (!measuring && elapsed >= WARMUP_MS) {
      scheduleAtMeasure = eventLoopSchedule();
      threadsAtMeasure = threadCpuSeconds();
      measuredFromMs = performance.now();
      sentAtMeasure = sent;
      itemsAtMeasure = planned.itemsBefore(sent);
    }
    measuring = elapsed >= WARMUP_MS;
    // Whole units (a transaction and the labels before it) whose last event is due by now.
    const dueEvents = Math.floor((elapsed * OFFERED_PER_S) / 1000);
    let due = sent;
    while (due < planned.unitCount && planned.itemsBefore(due + 1) <= dueEvents) due++;
    if (due > sent) {
      const items = planned.unitItems(sent, due);
      const now = performance.now();
      for (let i = sent; i < due; i++) {
        sentAt.set(planned.unitId(i), i);
        appendedAt[i] = now;
      }
      await produceItems(log, items);
      sent = due;
      if (performance.now() - now > TICK_MS) lateTicks++;
    }
    await Bun.sleep(TICK_MS);
  }
  const measuredS = (performance.now() - measuredFromMs) / 1000;
  const transactionsMeasured = sent - sentAtMeasure;
  const labelsMeasured = planned.itemsBefore(sent) - itemsAtMeasure - transactionsMeasured;
  const scheduleAtEnd = eventLoopSchedule();
  const threads = threadCpuBetween(threadsAtMeasure, threadCpuSeconds());
  const drainBy = Date.now() + 10_000;
  while (sentAt.size > 0 && Date.now() < drainBy) await Bun.sleep(10);
  await consumer.stop();
  if (stalls) console.log(stalls.stop());
  latencies.sort((a, b) => a - b);
  fromSchedule.sort((a, b) => a - b);
  const q = (p: number) => quantile(latencies, p);
  const s = (p: number) => quantile(fromSchedule, p);
  console.log(
    `latency at ${OFFERED_PER_S} events/s (open loop, ${OPEN_LOOP_MS / 1000} s measured: ${Math.round(transactionsMeasured / measuredS)} transactions and ${Math.round(labelsMeasured / measuredS)} labels a second; ${latencies.length} scores): event-to-score p50 ${q(0.5).toFixed(2)} ms, p90 ${q(0.9).toFixed(2)} ms, p99 ${q(0.99).toFixed(2)} ms, max ${q(1).toFixed(2)} ms, ${((100 * latencies.filter((ms) => ms > 5).length) / Math.max(1, latencies.length)).toFixed(2)} % over 5 ms (targets p50 <= 1 ms, p99 <= 5 ms, so at most 1 % over 5 ms); unscored after 10 s: ${sentAt.size}; appends slower than a tick: ${lateTicks}`,
  );
  // The producer shares the process: a transaction due while the process is stalled (a
  // collection, a slow append) is appended after the stall, and its latency above starts there.
  // From its scheduled arrival instead, the stall counts, as it would for a producer elsewhere
  // (plus up to one 1-ms tick of this loop's own batching).
  console.log(
    `latency from the scheduled arrival (stalls of the process included, and this loop's 1 ms tick): p50 ${s(0.5).toFixed(2)} ms, p90 ${s(0.9).toFixed(2)} ms, p99 ${s(0.99).toFixed(2)} ms, max ${s(1).toFixed(2)} ms`,
  );
  // Where the tail comes from on a machine with few cores: the event loop's own CPU per event,
  // how long it waited for a core, and what the other threads took meanwhile (Linux only).
  if (scheduleAtMeasure && scheduleAtEnd) {
    const onCpu = scheduleAtEnd.onCpuS - scheduleAtMeasure.onCpuS;
    const waiting = scheduleAtEnd.waitingS - scheduleAtMeasure.waitingS;
    const events = transactionsMeasured + labelsMeasured;
    console.log(
      `latency run's threads: event loop ${((onCpu * 1e6) / events).toFixed(1)} µs CPU an event (busy ${((100 * onCpu) / measuredS).toFixed(0)} % of the time), runnable but waiting for a core ${((100 * waiting) / measuredS).toFixed(1)} % of the time; CPU seconds by thread over ${measuredS.toFixed(1)} s: ${threads.map(([kind, seconds]) => `${kind} ${seconds.toFixed(2)}`).join(", ")}`,
    );
  }
  await platform.root.stop(10_000);
  await platform.log.close();

  // ---- the disk's share, with the platform gone: the same arrivals through the two fsyncs alone ----
  if (FSYNC === "always" && process.env.BENCH_E2E_FLOOR !== "0") {
    const floor = await measureFsyncFloor({
      ratePerSecond: OFFERED_PER_S,
      partitions,
      warmupMs: WARMUP_MS,
      measureMs: OPEN_LOOP_MS,
    });
    console.log(
      `disk floor (the same arrivals through nothing but each event's two fdatasyncs, its input's then its score's, in this process after the platform stopped): p50 ${floor.p50.toFixed(2)} ms, p99 ${floor.p99.toFixed(2)} ms, ${(100 * floor.over5ms).toFixed(2)} % over 5 ms (the platform: ${((100 * latencies.filter((ms) => ms > 5).length) / Math.max(1, latencies.length)).toFixed(2)} % over 5 ms)`,
    );
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(0);
