/**
 * A Map used as a bounded, oldest-first cache or buffer: Map iteration is insertion order, so the
 * first key is the oldest. One helper for the places that keep "the last N" this way.
 */

/** Sets `key` to `value`, first dropping the oldest entry when `map` already holds `max`. */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  if (map.size >= max) {
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
  }
  map.set(key, value);
}
