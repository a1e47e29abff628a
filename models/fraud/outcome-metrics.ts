/**
 * The business side of fraud serving, as metrics: each labelled prediction's outcome at the
 * threshold it was served with (true/false positive/negative), and the transaction amounts of
 * fraud caught (flagged) and missed (passed); and the events left unscored (the availability
 * SLI's bad events). Counted in plain numbers per label and flushed to prom-client once per shard
 * batch, so the label join pays no label-map lookups.
 */
import { Counter } from "prom-client";
import { eventsUnscored, labelOutcomes, labelsTotal, registry } from "../../runtime/metrics.ts";

export const fraudAmount = new Counter({
  name: "coelho_fraud_amount_total",
  help: "Transaction amount of labelled fraud, per use case and outcome (caught: flagged; missed: passed).",
  labelNames: ["usecase", "outcome"] as const,
  registers: [registry],
});

/** What the accumulator needs of a stored prediction. */
export interface LabelledPrediction {
  decision: "flag" | "pass";
  amount: number;
}

/** Per-batch tallies of labelled outcomes for one use case. */
export class OutcomeMetrics {
  private tp = 0;
  private fp = 0;
  private tn = 0;
  private fn = 0;
  private caught = 0;
  private missed = 0;
  private noChampion = 0;

  constructor(private readonly usecase: string) {
    // Every outcome series exists from the start, so rates read 0 instead of nothing.
    for (const outcome of ["tp", "fp", "tn", "fn"]) labelOutcomes.inc({ usecase, outcome }, 0);
    for (const outcome of ["caught", "missed"]) fraudAmount.inc({ usecase, outcome }, 0);
    for (const reason of ["no_champion", "scoring_failed"])
      eventsUnscored.inc({ usecase, reason }, 0);
    for (const outcome of ["matched", "unmatched", "unscored"])
      labelsTotal.inc({ usecase, outcome }, 0);
  }

  /** One event applied without a score: there is no champion to serve. */
  unscored(): void {
    this.noChampion++;
  }

  /**
   * For `scoring.catch(...)`: counts a batch of `count` events whose scoring failed (the shard
   * delivers the batch again), and rethrows.
   */
  scoringFailed(count: number): (error: unknown) => never {
    return (error) => {
      eventsUnscored.inc({ usecase: this.usecase, reason: "scoring_failed" }, count);
      throw error;
    };
  }

  /** Tallies one labelled prediction (cheap: no prom-client call). */
  add(prediction: LabelledPrediction, isFraud: 0 | 1): void {
    const flagged = prediction.decision === "flag";
    if (isFraud === 1) {
      const amount = Number.isFinite(prediction.amount) ? prediction.amount : 0;
      if (flagged) {
        this.tp++;
        this.caught += amount;
      } else {
        this.fn++;
        this.missed += amount;
      }
    } else if (flagged) this.fp++;
    else this.tn++;
  }

  /** Adds the tallies to the counters and starts over; once per batch. */
  flush(): void {
    const { usecase } = this;
    if (this.tp > 0) labelOutcomes.inc({ usecase, outcome: "tp" }, this.tp);
    if (this.fp > 0) labelOutcomes.inc({ usecase, outcome: "fp" }, this.fp);
    if (this.tn > 0) labelOutcomes.inc({ usecase, outcome: "tn" }, this.tn);
    if (this.fn > 0) labelOutcomes.inc({ usecase, outcome: "fn" }, this.fn);
    if (this.caught > 0) fraudAmount.inc({ usecase, outcome: "caught" }, this.caught);
    if (this.missed > 0) fraudAmount.inc({ usecase, outcome: "missed" }, this.missed);
    if (this.noChampion > 0) {
      eventsUnscored.inc({ usecase, reason: "no_champion" }, this.noChampion);
    }
    this.tp = this.fp = this.tn = this.fn = 0;
    this.caught = this.missed = this.noChampion = 0;
  }
}
