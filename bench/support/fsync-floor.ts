/**
 * The disk's share of event-to-score latency under fsync `always`: the same arrivals as the e2e
 * benchmark's latency run (open loop, `ratePerSecond` spread over `partitions`), through nothing
 * but the two fdatasyncs every event waits for: its input's (a producer's append) and then its
 * score's (the shard's append, which waits for the input to be durable first). No decoding, no
 * features, no scoring: what is left is the disk and the I/O threads. Measured in the benchmark's
 * own process right after its latency run, so both see the same disk.
 *
 * Files are written with zeros ahead (as the log's segments are) so an fdatasync flushes data and
 * never the file's size. Each partition keeps one fsync in flight and queues the next (the log's
 * group commit), and a shard takes what arrived while its previous batch was being made durable.
 * Since 28 November 2026 (tenth sitting) the platform's shards overlap their scores' fsync with
 * the next batch instead (`BatchProcessor.outputsDurable`), so this chain is now an upper bound
 * of the disk's share, not its exact path.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { quantile } from "./stats.ts";

/** Bytes a transaction and a score take in the log, about. */
const INPUT_BYTES = 520;
const SCORE_BYTES = 240;
const PREPARED_BYTES = 64 << 20;
const TICK_MS = 1;

/** One preallocated file with the log's group commit: one fdatasync in flight, one queued. */
class SyncedFile {
  private readonly fd: number;
  private position = 0;
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;

  constructor(file: string) {
    this.fd = fs.openSync(file, "w+");
    const zeros = new Uint8Array(1 << 20);
    for (let at = 0; at < PREPARED_BYTES; at += zeros.length) {
      fs.writeSync(this.fd, zeros, 0, zeros.length, at);
    }
    fs.fsyncSync(this.fd);
  }

  write(bytes: Uint8Array): void {
    if (this.position + bytes.length > PREPARED_BYTES) this.position = 0;
    fs.writeSync(this.fd, bytes, 0, bytes.length, this.position);
    this.position += bytes.length;
  }

  /** Resolves once everything written so far is durable. */
  flush(): Promise<void> {
    if (this.queued) return this.queued;
    if (this.running) {
      this.queued = this.running.then(() => {
        this.queued = null;
        return this.start();
      });
      return this.queued;
    }
    return this.start();
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  private start(): Promise<void> {
    const running = new Promise<void>((resolve, reject) =>
      fs.fdatasync(this.fd, (error) => (error ? reject(error) : resolve())),
    ).finally(() => {
      if (this.running === running) this.running = null;
    });
    this.running = running;
    return running;
  }
}

export interface FsyncFloor {
  /** Latencies of the measured window, sorted, ms. */
  sorted: number[];
  p50: number;
  p99: number;
  /** Share of events over 5 ms. */
  over5ms: number;
}

/**
 * Runs the chain for `warmupMs + measureMs` at `ratePerSecond` over `partitions` and returns the
 * latencies of the last `measureMs` (from an event's arrival to its score being durable).
 */
export async function measureFsyncFloor(options: {
  ratePerSecond: number;
  partitions: number;
  warmupMs: number;
  measureMs: number;
}): Promise<FsyncFloor> {
  const { ratePerSecond, partitions, warmupMs, measureMs } = options;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "coelho-bench-fsync-floor-"));
  const inputs: SyncedFile[] = [];
  const scores: SyncedFile[] = [];
  try {
    for (let p = 0; p < partitions; p++) {
      inputs.push(new SyncedFile(path.join(dir, `input-${p}`)));
      scores.push(new SyncedFile(path.join(dir, `scores-${p}`)));
    }
    const waiting: number[][] = Array.from({ length: partitions }, () => []);
    const busy: boolean[] = new Array(partitions).fill(false);
    const latencies: number[] = [];
    const begin = performance.now();
    const measureFrom = begin + warmupMs;
    const shard = async (p: number): Promise<void> => {
      if (busy[p] || (waiting[p] as number[]).length === 0) return;
      busy[p] = true;
      while ((waiting[p] as number[]).length > 0) {
        const batch = waiting[p] as number[];
        waiting[p] = [];
        await (inputs[p] as SyncedFile).flush();
        (scores[p] as SyncedFile).write(new Uint8Array(SCORE_BYTES * batch.length));
        await (scores[p] as SyncedFile).flush();
        const now = performance.now();
        for (const arrivedAt of batch)
          if (arrivedAt >= measureFrom) latencies.push(now - arrivedAt);
      }
      busy[p] = false;
    };
    let sent = 0;
    while (performance.now() - begin < warmupMs + measureMs) {
      const due = Math.floor(((performance.now() - begin) * ratePerSecond) / 1000);
      if (due > sent) {
        const now = performance.now();
        const counts = new Array<number>(partitions).fill(0);
        for (let i = sent; i < due; i++) {
          counts[i % partitions] = (counts[i % partitions] as number) + 1;
          (waiting[i % partitions] as number[]).push(now);
        }
        for (let p = 0; p < partitions; p++) {
          const count = counts[p] as number;
          if (count === 0) continue;
          (inputs[p] as SyncedFile).write(new Uint8Array(INPUT_BYTES * count));
          void (inputs[p] as SyncedFile).flush();
        }
        sent = due;
        for (let p = 0; p < partitions; p++) void shard(p);
      }
      await Bun.sleep(TICK_MS);
    }
    // Let the last batches land.
    while (busy.some(Boolean)) await Bun.sleep(5);
    latencies.sort((a, b) => a - b);
    return {
      sorted: latencies,
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      over5ms: latencies.filter((ms) => ms > 5).length / Math.max(1, latencies.length),
    };
  } finally {
    for (const file of [...inputs, ...scores]) file.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
