/**
 * A steady stream of counter events, so that a fresh `bun start` has traffic to show.
 * Deterministic for a seed; keys follow a skewed (Zipf-like) popularity, as real entities do.
 */
import type { Log, LogRecord } from "../../runtime/log/log.ts";
import {
  RetryingProducer,
  type RetryingProducerHooks,
} from "../../runtime/log/retrying-producer.ts";
import { seededRandom } from "../trainers/rng.ts";

export interface CounterSimulatorOptions {
  log: Log;
  topic: string;
  ratePerSecond: number;
  keys: number;
  seed: number;
  /** Hears when the log refuses a batch (held and tried again each tick) and when it takes it. */
  hooks?: RetryingProducerHooks;
}

/** The built-in counter world: its keys and seed (tests replay the same sequence). */
export const COUNTER_SIMULATED_KEYS = 10_000;
export const COUNTER_SIMULATED_SEED = 7;

const encoder = new TextEncoder();

export function counterRecord(key: string, value: number, timestampMs?: number): LogRecord {
  return {
    key: encoder.encode(key),
    value: encoder.encode(JSON.stringify({ key, value })),
    timestampMs,
  };
}

/**
 * The built-in counter world's events, in order: keys skewed towards the low numbers, values in
 * [1, 100]. The simulator produces exactly this sequence, whatever the log does.
 */
export function* counterEvents(
  seed: number,
  keys: number,
): Generator<{ key: string; value: number }> {
  const random = seededRandom(seed);
  for (;;) {
    const key = `key-${Math.floor(keys * random() ** 2)}`;
    yield { key, value: 1 + Math.floor(random() * 100) };
  }
}

/** Starts producing; returns a function that stops it after the batch in flight. */
export function startCounterSimulator(options: CounterSimulatorOptions): () => Promise<void> {
  const events = counterEvents(options.seed, options.keys);
  const tickMs = 100;
  const perTick = Math.max(1, Math.round((options.ratePerSecond * tickMs) / 1000));
  const producer = new RetryingProducer(options.log, options.hooks);
  let inFlight: Promise<void> | null = null;
  /** The next batch, made but not yet taken by the producer: the sequence never skips events. */
  let unsent: LogRecord[] | null = null;
  let stopped = false;
  const timer = setInterval(() => {
    // Skip a tick rather than queue without bound when the log is slower than the rate.
    if (stopped || inFlight) return;
    let appended: Promise<boolean>;
    if (producer.pending) {
      // The log refused the last batch (a full disk): no new events until it is in.
      appended = producer.retry();
    } else {
      if (unsent === null) {
        unsent = [];
        for (let i = 0; i < perTick; i++) {
          const { key, value } = events.next().value as { key: string; value: number };
          unsent.push(counterRecord(key, value));
        }
      }
      // Taken (appended or held) unless the topic's partitions could not be counted.
      appended = producer.produce([[options.topic, unsent]]).then((all) => {
        unsent = null;
        return all;
      });
    }
    inFlight = appended
      .then(() => {})
      .catch(() => {
        // Nothing was taken (the log is closing or the topic is not there yet): `unsent` waits.
      })
      .finally(() => {
        inFlight = null;
      });
  }, tickMs);
  return async () => {
    stopped = true;
    clearInterval(timer);
    await inFlight;
    // One last try for what the log refused; simulated traffic, so what it still refuses goes.
    if (producer.pending) await producer.retry().catch(() => false);
  };
}
