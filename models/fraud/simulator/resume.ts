/**
 * Where a simulated world stands in a log, so that a simulator started again (a restart of
 * `bun start`, a second `bun run simulate`) goes on with it instead of beginning it again.
 *
 * Why: the shards keep each card's state across restarts, and the simulator used to begin its
 * world anew each time: the same cards (one seed), event time back at the wall clock, which the
 * first run had left hours or days of simulated time behind. Every card's next transaction then
 * came before its last one: negative ages filled the 1-minute windows, the time since the last
 * transaction was 0 and the speed from the last place impossible. After a restart the champion
 * flagged about a fifth of all transactions (measured: 0.8 % before, 19 % after). The ids came
 * again too (one seed, one stream), so labels could find predictions of the first run.
 *
 * Resumed, a simulation keeps the world (cards, merchants, rings from the seed, accounts opened
 * when they were), starts its event time just after the log's last transaction (simulated time
 * stands still while nothing runs), and draws its traffic from a seed of its own, derived from
 * that point: new transaction ids, and the same stream again for the same log.
 *
 * When the world began (accounts were opened up to five years before it, so it sets every
 * account's age) is kept in a compacted topic of its own beside the transactions,
 * `<transactions>.world`: retention deletes the oldest transactions, and a world start read from
 * the oldest one left would make every account younger after each deletion.
 */
import { readLatestByKey } from "../../../runtime/log/latest-by-key.ts";
import type { Log } from "../../../runtime/log/log.ts";
import { hash32 } from "../hash.ts";

/** Where a world stands in a log. */
export interface ResumePoint {
  /**
   * When the world began: the start its first run recorded, or, in a log written before that
   * record existed, the event time of the oldest transaction still there.
   */
  worldStartMs: number;
  /** Whether `worldStartMs` is the recorded start (false: read from the oldest transaction). */
  worldStartRecorded: boolean;
  /** Event time of the newest transaction: the next one comes after it. */
  lastEventMs: number;
}

const WORLD_START_KEY = "world-start";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The compacted topic holding the start of the world whose transactions go to `transactionsTopic`. */
export function worldTopic(transactionsTopic: string): string {
  return `${transactionsTopic}.world`;
}

/** Records when the world producing into `transactionsTopic` began (its latest record wins). */
export async function saveWorldStart(
  log: Log,
  transactionsTopic: string,
  worldStartMs: number,
): Promise<void> {
  const topic = worldTopic(transactionsTopic);
  await log.ensureTopic({ name: topic, partitions: 1, compacted: true });
  const value = encoder.encode(
    JSON.stringify({ world_start: new Date(worldStartMs).toISOString() }),
  );
  await log.append(topic, 0, [{ key: encoder.encode(WORLD_START_KEY), value }]);
}

/** The time a world-start record holds, or null when it is not one we wrote. */
function parseWorldStart(value: Uint8Array): number | null {
  try {
    const ms = Date.parse(
      (JSON.parse(decoder.decode(value)) as { world_start: string }).world_start,
    );
    return Number.isFinite(ms) ? ms : null;
  } catch {
    return null;
  }
}

/** The recorded world start, or null when none was recorded (a log written before it was). */
export async function loadWorldStart(log: Log, transactionsTopic: string): Promise<number | null> {
  // Another producer's record under that key is skipped: the one before it stands.
  const latest = await readLatestByKey(log, worldTopic(transactionsTopic), {
    accept: (key, value) => key !== WORLD_START_KEY || parseWorldStart(value) !== null,
  });
  const value = latest?.get(WORLD_START_KEY);
  return value ? parseWorldStart(value) : null;
}

/**
 * Reads the first and last record of every partition of `topic` (two reads per partition) and the
 * recorded world start; null when the topic does not exist or holds nothing.
 */
export async function findResumePoint(log: Log, topic: string): Promise<ResumePoint | null> {
  let partitions: number;
  try {
    partitions = await log.partitionCount(topic);
  } catch {
    return null; // not created yet: a first start
  }
  let firstEventMs = Number.POSITIVE_INFINITY;
  let lastEventMs = Number.NEGATIVE_INFINITY;
  for (let partition = 0; partition < partitions; partition++) {
    const start = await log.startOffset(topic, partition);
    const end = await log.endOffset(topic, partition);
    if (end <= start) continue;
    const [first] = await log.read(topic, partition, start, 1);
    const [last] = await log.read(topic, partition, end - 1, 1);
    if (first) firstEventMs = Math.min(firstEventMs, first.timestampMs);
    if (last) lastEventMs = Math.max(lastEventMs, last.timestampMs);
  }
  if (!Number.isFinite(lastEventMs) || !Number.isFinite(firstEventMs)) return null;
  const recorded = await loadWorldStart(log, topic);
  return {
    worldStartMs: recorded ?? firstEventMs,
    worldStartRecorded: recorded !== null,
    lastEventMs,
  };
}

/** The traffic seed of a world of `seed` resumed at `point`: another per point, the same again. */
export function resumedTrafficSeed(seed: number, point: ResumePoint): number {
  return hash32(`${seed}:${point.lastEventMs}`);
}
