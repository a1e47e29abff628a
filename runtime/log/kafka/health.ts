/**
 * Connection health of a KafkaLog, for readiness: up after a successful call to the cluster,
 * down after a failure that says the cluster is unreachable, with the last error kept.
 */

/** What readiness reports about the Kafka connection. */
export interface KafkaHealth {
  connected: boolean;
  /** The last connection failure's message, kept after recovery for the record. */
  lastError: string | null;
  /** When `connected` last changed (ms since the epoch). */
  sinceMs: number;
}

const CONNECTION_ERROR_NAMES = new Set([
  "KafkaJSConnectionError",
  "KafkaJSConnectionClosedError",
  "KafkaJSRequestTimeoutError",
  "KafkaJSBrokerNotFound",
  "KafkaJSNoBrokerAvailableError",
  "KafkaJSLockTimeout",
]);

/** True when an error means the cluster could not be reached (as opposed to a refused request). */
export function isConnectionError(error: unknown): boolean {
  // kafkajs wraps the last attempt's error in "retries exceeded" and "non-retriable" errors.
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth += 1) {
    if (CONNECTION_ERROR_NAMES.has(current.name)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** Tracks KafkaHealth from call outcomes and client events. */
export class HealthTracker {
  private state: KafkaHealth = { connected: false, lastError: null, sinceMs: Date.now() };

  /** A call reached the cluster. */
  up(): void {
    if (!this.state.connected) this.state = { ...this.state, connected: true, sinceMs: Date.now() };
  }

  /** The cluster could not be reached; `error` says why. */
  down(error: unknown): void {
    const lastError = error instanceof Error ? error.message : String(error);
    const sinceMs = this.state.connected ? Date.now() : this.state.sinceMs;
    this.state = { connected: false, lastError, sinceMs };
  }

  /** Records a call's failure: only connection failures mark the cluster down. */
  failed(error: unknown): void {
    if (isConnectionError(error)) this.down(error);
  }

  snapshot(): KafkaHealth {
    return { ...this.state };
  }
}
