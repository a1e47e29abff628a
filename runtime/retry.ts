/**
 * Retrying a retriable operation: exponential backoff with jitter, a bounded number of attempts.
 *
 * Only a {@link RetriableError} is retried (a broker hiccup). Anything else, a validation error
 * or a bug, is thrown at once: retrying it would only repeat it. When the attempts run out the
 * last cause is wrapped in a {@link RetriesExhaustedError}, which is a failure for the supervisor.
 */
import { RetriableError, RetriesExhaustedError } from "./errors.ts";

export interface RetryOptions {
  /** Total attempts, the first one included (≥ 1). */
  attempts: number;
  /** Backoff before the first retry. */
  minMs: number;
  /** Backoff cap. */
  maxMs: number;
  /** Aborting stops waiting and rethrows the abort reason. */
  signal?: AbortSignal;
}

/**
 * Delay before retry `n` (1-based): `min(maxMs, minMs * 2^(n-1))`, without jitter.
 *
 * @example
 * backoffMs(1, 100, 5_000); // 100
 * backoffMs(4, 100, 5_000); // 800
 * backoffMs(20, 100, 5_000); // 5000
 */
export function backoffMs(n: number, minMs: number, maxMs: number): number {
  if (n < 1) return 0;
  // Capping the exponent keeps 2^(n-1) finite for absurd n.
  return Math.min(maxMs, minMs * 2 ** Math.min(n - 1, 52));
}

/**
 * Runs `fn` until it succeeds, retrying only {@link RetriableError}s.
 *
 * Each wait is drawn uniformly from [backoff/2, backoff] ("equal jitter"), so instances that
 * failed together do not retry in lockstep yet never retry at once.
 *
 * @example
 * const meta = await retry("kafka.fetchMetadata", () => admin.fetchTopicMetadata(), {
 *   attempts: 5, minMs: 100, maxMs: 5_000,
 * });
 */
export async function retry<T>(
  operation: string,
  fn: (attempt: number) => T | Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const { attempts, minMs, maxMs, signal } = options;
  if (!Number.isSafeInteger(attempts) || attempts < 1) {
    throw new RangeError(
      `${operation}: retry attempts ${attempts} is not valid; expected an integer ≥ 1`,
    );
  }
  if (!(minMs >= 0) || !(maxMs >= minMs)) {
    throw new RangeError(
      `${operation}: retry backoff ${minMs}..${maxMs} ms is not valid; expected 0 ≤ minMs ≤ maxMs`,
    );
  }
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (error) {
      if (!(error instanceof RetriableError)) throw error;
      lastError = error;
    }
    if (attempt < attempts) {
      const ceilingMs = backoffMs(attempt, minMs, maxMs);
      await sleep(ceilingMs / 2 + (Math.random() * ceilingMs) / 2, signal);
    }
  }
  throw new RetriesExhaustedError(operation, attempts, lastError);
}

/** Waits `ms`, or rejects with the abort reason as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
