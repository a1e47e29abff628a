/**
 * The simulator as an iterator: transactions and labels in event-time order, ready to be written
 * to `fraud.transactions` and `fraud.labels`.
 */
import { type OriginalProducerOptions, originalFormatEvents } from "./original.ts";
import { FraudSimulation, type FraudSimulationOptions, type SimulatedItem } from "./simulation.ts";

export interface FraudEventsOptions extends FraudSimulationOptions {
  /** Stop after this many transactions (labels are not counted). Default: never. */
  count?: number;
  /** After the last transaction, also yield every label still pending, in time order. */
  drainLabels?: boolean;
  /**
   * Behave exactly like the original producer instead: unkeyed events, a new user_id per event,
   * inline is_fraud, no labels. Only `seed`, `startMs`, `fraudRate` and `count` apply.
   */
  originalFormat?: boolean;
}

/**
 * Simulated items in event-time order, each with its LogRecord (keyed by card_id; key null in the
 * original format).
 *
 * @example
 * for (const item of fraudEvents({ seed: 1, count: 1000 })) {
 *   await log.produce(item.kind === "label" ? "fraud.labels" : "fraud.transactions", [item.record]);
 * }
 */
export function* fraudEvents(options: FraudEventsOptions = {}): Generator<SimulatedItem> {
  const count = options.count ?? Number.POSITIVE_INFINITY;
  if (options.originalFormat) {
    const original: OriginalProducerOptions = {
      seed: options.seed,
      startMs: options.startMs,
      fraudProbability: options.fraudRate,
    };
    let produced = 0;
    for (const item of originalFormatEvents(original)) {
      if (produced++ >= count) return;
      yield { ...item, fraud: item.event.is_fraud === 1 ? "original" : null };
    }
    return;
  }
  const simulation = new FraudSimulation(options);
  while (simulation.stats.transactions < count) yield simulation.next();
  if (options.drainLabels) yield* simulation.drainLabels();
}
