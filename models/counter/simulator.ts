/**
 * A steady stream of counter events, so that a fresh `bun start` has traffic to show.
 * Deterministic for a seed; keys follow a skewed (Zipf-like) popularity, as real entities do.
 */
import type { Log, LogRecord } from "../../runtime/log/log.ts";
import { seededRandom } from "../trainers/rng.ts";

export interface CounterSimulatorOptions {
  log: Log;
  topic: string;
  ratePerSecond: number;
  keys: number;
  seed: number;
}

const encoder = new TextEncoder();

export function counterRecord(key: string, value: number, timestampMs?: number): LogRecord {
  return {
    key: encoder.encode(key),
    value: encoder.encode(JSON.stringify({ key, value })),
    timestampMs,
  };
}

/** Starts producing; returns a function that stops it after the batch in flight. */
export function startCounterSimulator(options: CounterSimulatorOptions): () => Promise<void> {
  const random = seededRandom(options.seed);
  const tickMs = 100;
  const perTick = Math.max(1, Math.round((options.ratePerSecond * tickMs) / 1000));
  let inFlight: Promise<void> | null = null;
  let stopped = false;
  const timer = setInterval(() => {
    // Skip a tick rather than queue without bound when the log is slower than the rate.
    if (stopped || inFlight) return;
    const batch: LogRecord[] = [];
    for (let i = 0; i < perTick; i++) {
      const key = `key-${Math.floor(options.keys * random() ** 2)}`;
      batch.push(counterRecord(key, 1 + Math.floor(random() * 100)));
    }
    inFlight = options.log
      .produce(options.topic, batch)
      .catch(() => {
        // The log is down or closing: this tick's events are dropped; simulated traffic only.
      })
      .finally(() => {
        inFlight = null;
      });
  }, tickMs);
  return async () => {
    stopped = true;
    clearInterval(timer);
    await inFlight;
  };
}
