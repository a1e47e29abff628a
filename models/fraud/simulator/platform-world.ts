/**
 * The platform's simulated world: the one `bun start` simulates (`COELHO_SIMULATE`), trains its
 * first champion on (`COELHO_AUTO_TRAIN`), and `bun run simulate -- fraud --platform-world` produces
 * into Kafka for a cluster's platform. One seed and one number of cards whatever the rate (the rate
 * sets its speed), and a history of {@link SIMULATED_HISTORY_DAYS} days ending at the start: a
 * model trained on that history is served on cards whose states saw the same past (docs/fraud.md).
 */

/** Seed of the platform's world. */
export const SIMULATED_SEED = 7;
/** Cardholders of the platform's world, whatever its rate: its speed follows the rate. */
export const SIMULATED_CARDS = 3000;
/** Days of the world's history: written first into an empty log, and trained on. */
export const SIMULATED_HISTORY_DAYS = 30;
const DAY_MS = 86_400_000;

export interface SimulatedWorld {
  seed: number;
  cards: number;
  historyStartMs: number;
  historyEndMs: number;
}

/** The world of a platform started at `nowMs` (to the second, so a command line carries it exactly). */
export function simulatedWorld(seed: number, nowMs: number): SimulatedWorld {
  const historyEndMs = Math.floor(nowMs / 1000) * 1000;
  return {
    seed,
    cards: SIMULATED_CARDS,
    historyStartMs: historyEndMs - SIMULATED_HISTORY_DAYS * DAY_MS,
    historyEndMs,
  };
}
