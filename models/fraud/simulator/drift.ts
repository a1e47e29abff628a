/**
 * Drift scenarios of the simulator, each switched on at an event time:
 *
 * - `covariate`: the inputs move, the fraud patterns do not: genuine amounts inflate 2.5× and the
 *   merchant mix shifts (40 % of genuine purchases become electronics);
 * - `concept`: a new fraud pattern the current model has never seen: 2 % of what would have been
 *   genuine transactions become fraudulent transfers of 5× the usual amount for "services", from
 *   the cardholder's own device and place (nothing the old scenarios' traces look like);
 * - `prior`: the fraud rate triples, with the same patterns.
 *
 * `bun run simulate -- fraud --drift concept@2025-01-20T00:00:00Z` (or `concept@+10d`: ten days
 * after the start).
 */
import type { Rng } from "./random.ts";
import type { TransactionParts } from "./transaction.ts";

export const DRIFT_SCENARIOS = ["covariate", "concept", "prior"] as const;
export type DriftScenario = (typeof DRIFT_SCENARIOS)[number];

export interface DriftSpec {
  scenario: DriftScenario;
  /** Event time it starts, ms. */
  atMs: number;
}

/** Share of genuine transactions turned into the concept scenario's new fraud. */
export const CONCEPT_FRAUD_SHARE = 0.02;
/** The prior scenario's multiplier of the fraud rate. */
export const PRIOR_FACTOR = 3;
const COVARIATE_AMOUNT_FACTOR = 2.5;
const COVARIATE_CATEGORY_SHARE = 0.4;

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses `<scenario>@<time>`: an ISO-8601 time, or `+N[m|h|d]` after `startMs`.
 * Throws an Error naming the input and what is expected.
 */
export function parseDriftSpec(text: string, startMs: number): DriftSpec {
  const [scenario, when, extra] = text.split("@");
  if (
    !DRIFT_SCENARIOS.includes(scenario as DriftScenario) ||
    when === undefined ||
    extra !== undefined
  ) {
    throw new Error(
      `--drift: "${text}" is not <scenario>@<time>; expected a scenario of ${DRIFT_SCENARIOS.join(", ")} and a time such as 2025-01-20T00:00:00Z or +10d`,
    );
  }
  const relative = /^\+(\d+(?:\.\d+)?)([mhd])$/.exec(when);
  const atMs = relative
    ? startMs + Number(relative[1]) * (UNIT_MS[relative[2] as string] as number)
    : Date.parse(when);
  if (!Number.isFinite(atMs)) {
    throw new Error(
      `--drift: "${when}" is not a time; expected ISO-8601 (2025-01-20T00:00:00Z) or +N[m|h|d] after the start`,
    );
  }
  return { scenario: scenario as DriftScenario, atMs };
}

/** The active scenarios at a time, applied to genuine transactions as they are made. */
export class DriftSchedule {
  constructor(private readonly specs: readonly DriftSpec[]) {}

  private active(scenario: DriftScenario, timeMs: number): boolean {
    return this.specs.some((s) => s.scenario === scenario && timeMs >= s.atMs);
  }

  /** The fraud-rate multiplier at `timeMs` (prior shift). */
  fraudFactor(timeMs: number): number {
    return this.active("prior", timeMs) ? PRIOR_FACTOR : 1;
  }

  /**
   * A genuine transaction's parts under the active scenarios; `fraud` true when the concept
   * scenario made it the new fraud pattern.
   */
  apply(parts: TransactionParts, rng: Rng): { parts: TransactionParts; fraud: boolean } {
    let out = parts;
    let fraud = false;
    if (this.active("covariate", parts.timeMs)) {
      out = { ...out, amountUsd: out.amountUsd * COVARIATE_AMOUNT_FACTOR };
      if (out.type === "purchase" && rng.chance(COVARIATE_CATEGORY_SHARE)) {
        out = { ...out, category: "electronics" };
      }
    }
    if (this.active("concept", parts.timeMs) && rng.chance(CONCEPT_FRAUD_SHARE)) {
      out = {
        ...out,
        type: "transfer",
        category: "services",
        amountUsd: out.amountUsd * 5 + 50,
        cvvProvided: false,
      };
      fraud = true;
    }
    return { parts: out, fraud };
  }
}
