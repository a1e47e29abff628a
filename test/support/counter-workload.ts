/**
 * The counter workload of the integration tests: input written to a log, and the expected entity
 * states folded here from the same input with no runtime code, to compare against.
 */
import { Database } from "bun:sqlite";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { counterModel } from "../../models/counter/model.ts";
import { seededRandom } from "../../models/trainers/rng.ts";
import type { Log, LogRecord } from "../../runtime/log/log.ts";

export interface CounterState {
  count: number;
  sum: number;
}

export interface Expected {
  states: Map<string, CounterState>;
  /** Events that must end in the dead-letter topic. */
  bad: number;
  total: number;
}

const encoder = new TextEncoder();

export interface WorkloadOptions {
  events: number;
  keys: number;
  seed: number;
  /** Write records without a key (the original producers' way): re-keying must place them. */
  unkeyed?: boolean;
  /** One bad event in about this many (invalid JSON, missing or non-numeric value, oversized). */
  badEvery?: number;
  /** Bytes of an oversized event. */
  oversizedBytes?: number;
}

/** Writes counter events to `topic` and returns the states they must produce. */
export async function writeCounterEvents(
  log: Log,
  topic: string,
  options: WorkloadOptions,
): Promise<Expected> {
  const random = seededRandom(options.seed);
  const states = new Map<string, CounterState>();
  const badEvery = options.badEvery ?? 997;
  let bad = 0;
  let batch: LogRecord[] = [];
  for (let i = 0; i < options.events; i++) {
    const key = `k${Math.floor(options.keys * random() ** 1.5)}`;
    const value = 1 + Math.floor(random() * 1000);
    let body: string;
    if (i % badEvery === 13) {
      const kinds = [
        `{"key":"${key}","value":`,
        `{"key":"${key}"}`,
        `{"key":"${key}","value":"7"}`,
        `{"key":"${key}","value":1,"pad":"${"x".repeat(options.oversizedBytes ?? 70_000)}"}`,
      ];
      body = kinds[bad % kinds.length] ?? "";
      bad++;
    } else {
      body = JSON.stringify({ key, value });
      const state = states.get(key) ?? { count: 0, sum: 0 };
      states.set(key, { count: state.count + 1, sum: state.sum + value });
    }
    batch.push({ key: options.unkeyed ? null : encoder.encode(key), value: encoder.encode(body) });
    if (batch.length === 5_000) {
      await log.produce(topic, batch);
      batch = [];
    }
  }
  if (batch.length > 0) await log.produce(topic, batch);
  return { states, bad, total: options.events };
}

/** What a process's checkpoints hold: per partition of `topic`, its position and entity states. */
export function readCheckpoints(dataDir: string, topic: string, usecase = "counter") {
  const dir = join(dataDir, "state", usecase);
  const partitions = new Map<number, { nextOffset: number; states: Map<string, CounterState> }>();
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => /^p\d+\.sqlite$/.test(f));
  } catch {
    return partitions;
  }
  for (const file of files) {
    const partition = Number(file.slice(1, -".sqlite".length));
    const db = new Database(join(dir, file), { readonly: true });
    const rows = db.query("SELECT topic, partition, next_offset AS n FROM positions").all() as {
      topic: string;
      partition: number;
      n: number;
    }[];
    const own = rows.find((r) => r.partition === partition && r.topic === topic);
    const states = new Map<string, CounterState>();
    const model = counterModel("unused");
    for (const row of db.query("SELECT key, state FROM entities").all() as {
      key: string;
      state: Uint8Array;
    }[]) {
      states.set(row.key, model.decodeState(row.state));
    }
    db.close();
    partitions.set(partition, { nextOffset: own?.n ?? 0, states });
  }
  return partitions;
}

/** Counts entities lost (missing or short) and double-counted against the expected fold. */
export function compareStates(expected: Map<string, CounterState>, got: Map<string, CounterState>) {
  let lost = 0;
  let doubled = 0;
  for (const [key, want] of expected) {
    const have = got.get(key);
    if (!have || have.count < want.count) lost++;
    else if (have.count > want.count || have.sum !== want.sum) doubled++;
  }
  return { lost, doubled, entities: got.size, expectedEntities: expected.size };
}

/** The expected states of two inputs written one after the other to the same topic. */
export function mergeExpected(a: Expected, b: Expected): Expected {
  const states = new Map(a.states);
  for (const [key, s] of b.states) {
    const before = states.get(key) ?? { count: 0, sum: 0 };
    states.set(key, { count: before.count + s.count, sum: before.sum + s.sum });
  }
  return { states, bad: a.bad + b.bad, total: a.total + b.total };
}
