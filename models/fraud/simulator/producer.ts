/**
 * The simulator producing into a Log at a steady rate, as the platform's built-in traffic or the
 * CLI's. Bounded: at most one append in flight; a tick that finds the log still busy is skipped
 * (the simulated world simply runs slower), never queued. A batch the log refuses (a full disk)
 * is held and appended again at the next ticks, before anything new: the world has no holes. A
 * world's history (`history`) goes in first, as fast as the log takes it, in batches of
 * {@link HISTORY_BATCH_TRANSACTIONS}. The labels it still owes when it stops are kept in the log
 * for the next run of the world (`pending-labels.ts`).
 */
import type { Log, LogRecord } from "../../../runtime/log/log.ts";
import {
  RetryingProducer,
  type RetryingProducerHooks,
} from "../../../runtime/log/retrying-producer.ts";
import { FRAUD_LABELS_TOPIC, FRAUD_TRANSACTIONS_TOPIC } from "../entity.ts";
import { type FraudEventsOptions, fraudEvents } from "./events.ts";
import { loadPendingLabels, savePendingLabels } from "./pending-labels.ts";
import { findResumePoint, type ResumePoint, resumedTrafficSeed, saveWorldStart } from "./resume.ts";
import { CARDS_MAX, FraudSimulation, type SimulatedItem } from "./simulation.ts";

export interface FraudSimulatorOptions extends Omit<FraudEventsOptions, "count" | "drainLabels"> {
  log: Log;
  transactionsTopic?: string;
  labelsTopic?: string;
  /** Transactions per second of wall time (labels come on top). */
  ratePerSecond: number;
  /**
   * Event time per wall time (default 1440: a simulated day per minute). Sets the number of
   * cards so that each card keeps a realistic rate (~2.6 transactions a day) at `ratePerSecond`,
   * unless `cards` is given.
   */
  speed?: number;
  /**
   * Partitions of the transactions topic if it does not exist yet (default 3). The labels topic
   * gets as many as the transactions topic has: labels are keyed by card like transactions, so a
   * card's labels land in the partition number of its transactions, the shard that owns the card.
   */
  partitions?: number;
  /** Stop producing after this many transactions, not counting a history written first. */
  count?: number;
  /** Called after each append with the number of transactions produced so far (history included). */
  onProgress?: (transactions: number) => void;
  /** Called once, after the append that reached `count`. */
  onCountReached?: () => void;
  /**
   * Called when the simulator cannot start (topics, where the world stands) or stop cleanly. An
   * append the log refuses is not an error: its records are held and appended again
   * (`appendHooks` hears of it), and nothing new is produced meanwhile.
   */
  onError?: (error: unknown) => void;
  /** Hears when the log refuses an append (a full disk) and when the held records went in. */
  appendHooks?: RetryingProducerHooks;
  /** Called when the log already held this world's transactions and the simulation goes on from them. */
  onResume?: (point: ResumePoint) => void;
  /** Where the world stands in the log, if the caller looked it up already (null: nothing there). */
  resumeAt?: ResumePoint | null;
  /**
   * The world begins at `startMs`, and its items before `untilMs` are history: into a log that
   * holds no transaction yet, they are produced as fast as the log takes it (labels included),
   * then the simulator goes on at its rate. The same options give `simulatedHistory` the same
   * transactions, so a model trained on them is served on cards whose states saw the same past.
   * Ignored when the log holds transactions already (the world resumes) or `startMs` is given.
   */
  history?: { startMs: number; untilMs: number };
  /** Called once the history is in the log, with the transactions it held. */
  onHistoryWritten?: (transactions: number) => void;
  /** Called on a resume with the labels the previous run left pending and this one took over. */
  onPendingLabels?: (labels: number) => void;
}

/** Mean legitimate transactions per card per day in the simulated world. */
export const TRANSACTIONS_PER_CARD_PER_DAY = 2.6;
const TICK_MS = 100;
/** Transactions per append while the history goes in (with the labels among them). */
export const HISTORY_BATCH_TRANSACTIONS = 5_000;
const CARDS_MIN = 100;

/** Event time per wall time that gives each of `cards` a realistic rate at `ratePerSecond`. */
export function speedFor(ratePerSecond: number, cards: number): number {
  return (ratePerSecond * 86_400) / (cards * TRANSACTIONS_PER_CARD_PER_DAY);
}

/** Cards that make `ratePerSecond` at `speed` a realistic per-card rate, within bounds. */
export function cardsFor(ratePerSecond: number, speed: number): number {
  const cards = Math.round((ratePerSecond * 86_400) / (speed * TRANSACTIONS_PER_CARD_PER_DAY));
  return Math.min(CARDS_MAX, Math.max(CARDS_MIN, cards));
}

/**
 * Starts producing; returns a function that stops after the append in flight.
 *
 * @example
 * const stop = startFraudSimulator({ log, ratePerSecond: 200, seed: 7 });
 * // ...
 * await stop();
 */
export function startFraudSimulator(options: FraudSimulatorOptions): () => Promise<void> {
  const transactionsTopic = options.transactionsTopic ?? FRAUD_TRANSACTIONS_TOPIC;
  const labelsTopic = options.labelsTopic ?? FRAUD_LABELS_TOPIC;
  const speed = options.speed ?? 1440;
  if (!(options.ratePerSecond > 0) || !(speed > 0)) {
    throw new RangeError("startFraudSimulator: ratePerSecond and speed must be positive");
  }
  const count = options.count ?? Number.POSITIVE_INFINITY;
  const perTick = (options.ratePerSecond * TICK_MS) / 1000;
  let owed = 0;
  let produced = 0;
  /** Transactions of the history: `count` applies to those produced after it. */
  let historyProduced = 0;
  let inFlight: Promise<void> | null = null;
  let stopped = false;
  let items: Generator<SimulatedItem> | null = null;
  /** An item taken from the generator and not produced yet (it was past the history's end). */
  let held: SimulatedItem | null = null;
  /** Items before this event time are history, produced without waiting for the rate. */
  let historyUntilMs = Number.NEGATIVE_INFINITY;
  let preparing: Promise<void> | null = null;
  /** The history's last batch was taken; `onHistoryWritten` waits until it is in the log. */
  let historyWritePending = false;
  const producer = new RetryingProducer(options.log, options.appendHooks);
  /** The world being produced (null in the original format, which owes no labels). */
  let simulation: FraudSimulation | null = null;
  const inHistory = (): boolean => Number.isFinite(historyUntilMs);
  /** The transactions after the history reached `count`. */
  const countReached = (): boolean => !inHistory() && produced - historyProduced >= count;

  /**
   * The world, begun or resumed where the log left it (`resume.ts`); unless `startMs` is given,
   * which starts that very world at that time whatever the log holds.
   */
  const simulate = async (): Promise<Generator<SimulatedItem>> => {
    const cards = options.cards ?? cardsFor(options.ratePerSecond, speed);
    let point = options.startMs === undefined ? options.resumeAt : null;
    if (point === undefined) point = await findResumePoint(options.log, transactionsTopic);
    if (point === null) {
      const history = options.startMs === undefined ? options.history : undefined;
      if (history) historyUntilMs = history.untilMs;
      const startMs = history?.startMs ?? options.startMs ?? Date.now();
      // Unbounded: `count` is applied here, after the history.
      if (options.originalFormat) return fraudEvents({ ...options, count: undefined, startMs });
      simulation = new FraudSimulation({ ...options, cards, startMs });
      await saveWorldStart(options.log, transactionsTopic, startMs);
      return endless(simulation);
    }
    const trafficSeed = resumedTrafficSeed(options.seed ?? 1, point);
    options.onResume?.(point);
    if (options.originalFormat) {
      // The original format has no world to keep (nor labels): a seed of its own gives it new ids.
      return fraudEvents({
        ...options,
        count: undefined,
        startMs: point.lastEventMs + 1,
        seed: trafficSeed,
      });
    }
    const resumed = new FraudSimulation({
      ...options,
      cards,
      startMs: point.lastEventMs + 1,
      worldStartMs: point.worldStartMs,
      trafficSeed,
    });
    // A log from before the world start was recorded: record the one read from its oldest
    // transaction now, before retention deletes it.
    if (!point.worldStartRecorded) {
      await saveWorldStart(options.log, transactionsTopic, point.worldStartMs);
    }
    const owed = await loadPendingLabels(options.log, labelsTopic, point.lastEventMs);
    if (owed) options.onPendingLabels?.(resumed.scheduleLabels(owed));
    simulation = resumed;
    return endless(resumed);
  };

  const ensureTopics = async (): Promise<void> => {
    const { log } = options;
    await log.ensureTopic({ name: transactionsTopic, partitions: options.partitions ?? 3 });
    const partitions = await log.partitionCount(transactionsTopic);
    await log.ensureTopic({ name: labelsTopic, partitions });
    const labelPartitions = await log.partitionCount(labelsTopic);
    if (labelPartitions !== partitions) {
      // Not fatal for producing, but a label would reach another shard than its transaction.
      options.onError?.(
        new Error(
          `${labelsTopic} has ${labelPartitions} partitions but ${transactionsTopic} has ${partitions}; expected the same, so labels reach the shard that owns their card`,
        ),
      );
    }
  };

  /**
   * Takes items until `transactions` of them are transactions, or the next one is at or after
   * `untilMs` (it is held for the next call).
   */
  const take = (
    generator: Generator<SimulatedItem>,
    transactions: number,
    untilMs: number,
  ): { transactions: LogRecord[]; labels: LogRecord[] } => {
    const batch = { transactions: [] as LogRecord[], labels: [] as LogRecord[] };
    while (batch.transactions.length < transactions && !countReached()) {
      let item = held;
      held = null;
      if (item === null) {
        const next = generator.next();
        if (next.done) break;
        item = next.value;
      }
      if ((item.record.timestampMs ?? 0) >= untilMs) {
        held = item;
        break;
      }
      if (item.kind === "label") {
        batch.labels.push(item.record);
        continue;
      }
      batch.transactions.push(item.record);
      produced++;
    }
    return batch;
  };

  const tick = (): void => {
    // Skip a tick rather than queue without bound when the log is slower than the rate.
    if (stopped || inFlight || preparing) return;
    if (items === null) {
      // The first tick creates the topics and finds where the world stands; retried if it failed.
      preparing = ensureTopics()
        .then(simulate)
        .then((generator) => {
          items = generator;
        })
        .catch((error: unknown) => options.onError?.(error))
        .finally(() => {
          preparing = null;
        });
      return;
    }
    // The log refused the last batch (a full disk): no new items until it is in.
    let batches: [string, LogRecord[]][] | null = null;
    const historyBatch = inHistory() || historyWritePending;
    if (!producer.pending) {
      let batch: { transactions: LogRecord[]; labels: LogRecord[] };
      if (inHistory()) {
        batch = take(items, HISTORY_BATCH_TRANSACTIONS, historyUntilMs);
        if (held !== null || batch.transactions.length < HISTORY_BATCH_TRANSACTIONS) {
          // The next item is past the history (or the world ran dry): the rate applies from now.
          historyUntilMs = Number.NEGATIVE_INFINITY;
          historyProduced = produced;
          historyWritePending = true;
        }
      } else {
        owed += perTick;
        const due = Math.floor(owed);
        batch = take(items, due, Number.POSITIVE_INFINITY);
        owed -= batch.transactions.length;
        // A world that ran dry (a count, or a generator's end) owes nothing more.
        if (batch.transactions.length < due) owed = 0;
      }
      if (batch.transactions.length === 0 && batch.labels.length === 0) {
        if (historyWritePending) historyWritten();
        if (countReached()) {
          stopped = true;
          clearInterval(timer);
        }
        return;
      }
      batches = [
        [transactionsTopic, batch.transactions],
        [labelsTopic, batch.labels],
      ];
    }
    const reached = countReached();
    let again = false;
    inFlight = (batches ? producer.produce(batches) : producer.retry())
      .then((all) => {
        if (!all) return; // held, and tried again at the next tick
        options.onProgress?.(produced);
        if (historyWritePending) historyWritten();
        if (reached) {
          stopped = true;
          options.onCountReached?.();
        }
        // History goes in as fast as the log takes it, not a batch per tick.
        again = historyBatch;
      })
      .catch((error: unknown) => options.onError?.(error))
      .finally(() => {
        inFlight = null;
        if (stopped) clearInterval(timer);
        else if (again) tick();
      });
  };
  const historyWritten = (): void => {
    historyWritePending = false;
    options.onHistoryWritten?.(historyProduced);
  };
  const timer = setInterval(tick, TICK_MS);

  return async () => {
    stopped = true;
    clearInterval(timer);
    await preparing;
    await inFlight;
    if (producer.pending && !(await producer.retry())) {
      options.onError?.(
        new Error(`stopped with ${producer.heldRecords} records the log refused; they are dropped`),
      );
    }
    // What the world still owes: the labels scheduled, and one taken but not produced. Saved
    // for the point the next run resumes from: the log's last transaction, read as it will be.
    if (simulation === null) return;
    const owed = simulation.scheduledLabels();
    if (held?.kind === "label") owed.push(held.label);
    try {
      const point = await findResumePoint(options.log, transactionsTopic);
      if (point) await savePendingLabels(options.log, labelsTopic, owed, point.lastEventMs);
    } catch (error) {
      options.onError?.(error);
    }
  };
}

/** The simulation's items, one after the other, for as long as asked. */
function* endless(simulation: FraudSimulation): Generator<SimulatedItem> {
  for (;;) yield simulation.next();
}
