/**
 * The shape of the live `metrics` channel's message (see metrics-summary.ts), on its own with no
 * imports so that the dashboard's browser code types what it receives with the same definition.
 */
export interface MetricsSummary {
  atMs: number;
  instance: string;
  /** Events read from input topics per second (all use cases). */
  eventsPerSecond: number;
  /** Scores written per second, per use case. */
  scoresPerSecond: Record<string, number>;
  /** Event-to-score latency over the interval, per use case, ms (null: nothing scored). */
  latencyMs: Record<string, { p50: number | null; p99: number | null }>;
  /** Records not yet consumed, summed over this instance's partitions, per topic. */
  consumerLag: Record<string, number>;
  /** Every instance the membership knows of, with its partitions per use case. */
  instances: { instanceId: string; url: string; partitions: Record<string, number[]> }[];
  /** The champion version served here, per use case (null: none). */
  champions: Record<string, number | null>;
  /** Online model quality per use case (the use case's own shape), when it has one. */
  quality: Record<string, unknown>;
}
