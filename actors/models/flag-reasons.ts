/**
 * What the champion's flags are made of, as a metric: for a sample of flagged events, the feature
 * that added most to the score's log-odds (the flag's first reason, models/explain) is counted in
 * `coelho_flag_reasons_total{usecase, feature}`. A new fraud pattern, or a model leaning on one
 * feature, shows as a change in the mix, on a dashboard or in an alert, without anyone watching
 * the live stream.
 *
 * A sample, bounded per use case and second ({@link FLAG_REASONS_PER_SECOND}), because an
 * explanation costs 0.4–1.5 ms of the event loop: the counter's shares are what to read, not its
 * counts. The label is bounded by the champion's feature schema.
 */
import { Counter } from "prom-client";
import type { ScoreAlert, UseCaseApi } from "../../models/index.ts";
import { registry } from "../../runtime/metrics.ts";
import type { ServingModel } from "./champion-watcher.ts";

export const flagReasons = new Counter({
  name: "coelho_flag_reasons_total",
  help: "Sampled flags by their first reason: the feature that added most to the score's log-odds",
  labelNames: ["usecase", "feature"],
  registers: [registry],
});

/** Flags explained per use case and second: ≤ 7.5 ms of the event loop a second. */
export const FLAG_REASONS_PER_SECOND = 5;

/** What the sampler needs of a scoring use case. */
export interface FlagReasonSource {
  api: Pick<UseCaseApi, "alerts">;
  champion(): ServingModel | null;
}

export class FlagReasonSampler {
  /** Explanations left per use case in the current second. */
  private readonly budgets = new Map<string, { second: number; left: number }>();

  constructor(
    private readonly sourceOf: (usecase: string) => FlagReasonSource | null,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** A `Platform.onScored` listener: counts the first reasons of the batch's sampled flags. */
  onScored(usecase: string, scores: readonly unknown[], features: Float32Array): void {
    const second = Math.floor(this.nowMs() / 1000);
    let budget = this.budgets.get(usecase);
    if (!budget || budget.second !== second) {
      budget = { second, left: FLAG_REASONS_PER_SECOND };
      this.budgets.set(usecase, budget);
    }
    if (budget.left <= 0) return;
    const source = this.sourceOf(usecase);
    const champion = source?.champion();
    if (!source || !champion?.explainer) return;
    const alerts = source.api.alerts(scores, features, champion, budget.left, budget.left);
    for (const alert of alerts) {
      const first = firstReason(alert);
      if (first === null) continue;
      flagReasons.inc({ usecase, feature: first });
      budget.left--;
    }
  }
}

/** The feature that added most to an explained alert's score; null when it was not explained. */
function firstReason(alert: ScoreAlert): string | null {
  let best: string | null = null;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (const [feature, value] of Object.entries(alert.contributions ?? {})) {
    if (value > bestValue) {
      best = feature;
      bestValue = value;
    }
  }
  return best;
}
