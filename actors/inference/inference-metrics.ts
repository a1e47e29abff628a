/**
 * One inference actor's metric series, resolved once (prom-client hashes labels on every call, too
 * slow for a per-batch path: runtime/metric-series.ts) and kept bounded.
 *
 * `model_version` is a label, so its values must stay few: the live champion and challenger,
 * plus the last {@link RETIRED_VERSIONS_KEPT} versions retired, whose series stay a little longer
 * so that Prometheus scrapes their final counts. Older ones are removed from the registry.
 */

import { counterSeries, removeSeries } from "../../runtime/metric-series.ts";
import {
  inferenceBatchRows,
  inferenceBatchSeconds,
  inferenceErrors,
  inferenceLatencySeconds,
  inferenceRowSeconds,
  inferenceRows,
} from "../../runtime/metrics.ts";

/** Retired model versions whose series are kept before removal. */
export const RETIRED_VERSIONS_KEPT = 4;

export type Role = "champion" | "challenger";

/** Why an inference request or batch failed (the `reason` label). */
export type InferenceErrorReason =
  | "batch_failed"
  | "challenger_failed"
  | "challenger_dropped"
  | "no_champion"
  | "queue_full"
  | "abandoned"
  | "scorer_unusable";

interface Observer {
  observe(value: number): void;
}
interface Incrementer {
  inc(value?: number): void;
}

/** The series of one model version in one role. */
export interface VersionSeries {
  batchSeconds: Observer;
  rows: Incrementer;
  /** Champion only: the cost per row of a batch. */
  rowSeconds: Observer;
}

export class InferenceMetrics {
  readonly batchRows: Observer;
  readonly latencySeconds: Observer;
  private readonly usecase: string;
  private readonly series = new Map<string, VersionSeries>();
  private readonly errors = new Map<InferenceErrorReason, Incrementer>();
  /** Retired versions, oldest first; at most RETIRED_VERSIONS_KEPT. */
  private readonly retired: string[] = [];

  constructor(usecase: string) {
    this.usecase = usecase;
    this.batchRows = inferenceBatchRows.labels({ usecase });
    this.latencySeconds = inferenceLatencySeconds.labels({ usecase });
    // The champion path's errors exist at 0, so their rates read 0 rather than nothing.
    for (const reason of ["batch_failed", "queue_full"])
      inferenceErrors.inc({ usecase, reason }, 0);
  }

  /** The series of `version` in `role`, created on first use. */
  of(version: string, role: Role): VersionSeries {
    const key = `${role}\u0000${version}`;
    let found = this.series.get(key);
    if (found === undefined) {
      found = {
        batchSeconds: inferenceBatchSeconds.labels({
          usecase: this.usecase,
          model_version: version,
          role,
        }),
        rows: counterSeries(inferenceRows, { usecase: this.usecase, model_version: version, role }),
        rowSeconds: inferenceRowSeconds.labels({ usecase: this.usecase, model_version: version }),
      };
      this.series.set(key, found);
    }
    return found;
  }

  error(reason: InferenceErrorReason, count = 1): void {
    let counter = this.errors.get(reason);
    if (counter === undefined) {
      counter = inferenceErrors.labels(this.usecase, reason);
      this.errors.set(reason, counter);
    }
    counter.inc(count);
  }

  /** `version` serves again (a retired version set once more): its series must stay. */
  live(version: string): void {
    const at = this.retired.indexOf(version);
    if (at >= 0) this.retired.splice(at, 1);
  }

  /** `version` serves no more (neither role, no batch): its series go after a few more retire. */
  retire(version: string): void {
    if (this.retired.includes(version)) return;
    this.retired.push(version);
    while (this.retired.length > RETIRED_VERSIONS_KEPT) {
      this.remove(this.retired.shift() as string);
    }
  }

  private remove(version: string): void {
    for (const role of ["champion", "challenger"] as const) {
      this.series.delete(`${role}\u0000${version}`);
      const labels = { usecase: this.usecase, model_version: version, role };
      inferenceBatchSeconds.remove(labels);
      removeSeries(inferenceRows, labels);
    }
    inferenceRowSeconds.remove({ usecase: this.usecase, model_version: version });
  }
}
