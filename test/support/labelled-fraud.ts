/**
 * Simulated fraud traffic with its delayed labels, and what a run made of it: for the tests that
 * check that every label became a training example with the score given before it.
 */
import { expect } from "bun:test";
import type { FraudExample, FraudScore } from "../../models/fraud/serving.ts";
import { type FraudEventsOptions, fraudEvents } from "../../models/fraud/simulator/events.ts";
import type { LogRecord } from "../../runtime/log/log.ts";

/** The simulator's transactions and labels as records, and each labelled transaction's label. */
export function transactionsAndLabels(options: FraudEventsOptions): {
  transactions: LogRecord[];
  labels: LogRecord[];
  labelOf: Map<string, 0 | 1>;
} {
  const transactions: LogRecord[] = [];
  const labels: LogRecord[] = [];
  const labelOf = new Map<string, 0 | 1>();
  for (const item of fraudEvents({ ...options, drainLabels: true })) {
    if (item.kind === "label") {
      labels.push(item.record);
      labelOf.set(item.label.transaction_id, item.label.is_fraud);
    } else transactions.push(item.record);
  }
  return { transactions, labels, labelOf };
}

/**
 * Scores and examples against the labels, counted per transaction (outputs are at-least-once: a
 * replay after a crash writes some again). `differ` counts the examples whose label, score, model
 * version or card is not their transaction's, or whose feature row is missing.
 */
export function examplesAgainstLabels(
  labelOf: Map<string, 0 | 1>,
  scores: FraudScore[],
  examples: FraudExample[],
): { scored: number; missing: number; examples: number; differ: number } {
  const scoreOf = new Map(scores.map((s) => [s.transaction_id, s] as const));
  const exampleOf = new Map(examples.map((e) => [e.transaction_id, e] as const));
  let differ = 0;
  for (const [id, example] of exampleOf) {
    const score = scoreOf.get(id);
    if (
      !score ||
      example.label !== labelOf.get(id) ||
      example.score !== score.score ||
      example.model_version !== score.model_version ||
      example.card_id !== score.card_id ||
      example.features.length < 10
    ) {
      differ++;
    }
  }
  return {
    scored: scoreOf.size,
    missing: [...labelOf.keys()].filter((id) => !exampleOf.has(id)).length,
    examples: exampleOf.size,
    differ,
  };
}

/**
 * What the kill tests prove: every transaction was scored, and every label became one example
 * carrying the score given before it (see `examplesAgainstLabels`).
 */
export function expectEveryLabelLearned(
  labelOf: Map<string, 0 | 1>,
  transactions: number,
  scores: FraudScore[],
  examples: FraudExample[],
): void {
  const outcome = examplesAgainstLabels(labelOf, scores, examples);
  expect(outcome.scored).toBe(transactions);
  expect({ missing: outcome.missing, examples: outcome.examples }).toEqual({
    missing: 0,
    examples: labelOf.size,
  });
  expect(outcome.differ).toBe(0);
}
