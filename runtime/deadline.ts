/**
 * `within`: waits for a promise for at most a given time. Seven places (stopping actors, children,
 * the root, services, a Kafka consumer leaving its group, a shard's changelog publish, the last
 * ownership claim) wrote this race by hand, each with its own timer to clear; one of them left its
 * timer running when the promise rejected.
 */

/** What {@link within} gives when the time ran out first. */
export const TIMED_OUT: unique symbol = Symbol("timed out");

/**
 * The promise's value if it settles within `ms`, else {@link TIMED_OUT}; a rejection within `ms`
 * is rethrown. The timer is cleared either way, so nothing stays scheduled (a pending timer keeps
 * a stopping process alive until it fires). A promise that loses the race keeps running.
 *
 * @example if ((await within(child.stop(), 5_000)) === TIMED_OUT) log.warn("abandoned");
 */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(resolve, ms, TIMED_OUT);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
