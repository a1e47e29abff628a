/**
 * The card-fraud world simulator: persistent cardholders, merchants and fraud rings; fraud
 * scenarios a per-card model can learn; delayed labels. See docs/fraud.md.
 */
export { type FraudEventsOptions, fraudEvents } from "./events.ts";
export { DEFAULT_LABEL_DELAYS, type LabelDelayOptions } from "./labels.ts";
export { type OriginalProducerOptions, originalFormatEvents, pythonIsoformat } from "./original.ts";
export {
  cardsFor,
  type FraudSimulatorOptions,
  startFraudSimulator,
  TRANSACTIONS_PER_CARD_PER_DAY,
} from "./producer.ts";
export { Rng } from "./random.ts";
export { DEFAULT_SCENARIO_WEIGHTS, FRAUD_SCENARIOS, type FraudScenario } from "./scenarios.ts";
export {
  CARDS_MAX,
  FraudSimulation,
  type FraudSimulationOptions,
  type LabelItem,
  type SimulatedItem,
  type SimulationStats,
  type TransactionItem,
} from "./simulation.ts";
