/**
 * One series of a prom-client counter or gauge, its label values fixed, for the paths that update
 * metrics once per batch: an update is a plain number written here, and prom-client gets it when
 * a registry is read (each metric's `collect`, which prom-client calls before it reads the
 * values: `/metrics`, `metric.get()`).
 *
 * Why: prom-client hashes the label object into a string on every `inc` and `set`, through a
 * `labels()` child too. At 10k events/s the per-batch updates were ~6 % of the event loop's CPU
 * (CPU profile of `bench/e2e-fraud.ts`'s latency run), and each call left a string behind for the
 * collector. Histograms on those paths are `BatchHistogram`s, whose series are plain counts too.
 *
 * @example
 * const lag = gaugeSeries(consumerLagRecords, { topic, partition: "0" });
 * lag.set(42); // a field write; prom-client sees 42 at the next scrape
 * removeSeries(consumerLagRecords, { topic, partition: "0" }); // the partition left: it goes
 */
import type { Counter, Gauge, LabelValues } from "prom-client";

interface Flushable {
  flush(): void;
}

type Collecting = { collect?: (this: unknown) => unknown };

/** The series of each metric, flushed by the metric's `collect`. */
const seriesOf = new WeakMap<object, Set<Flushable>>();

function attach(metric: object, series: Flushable): void {
  let all = seriesOf.get(metric);
  if (!all) {
    const set = new Set<Flushable>();
    all = set;
    seriesOf.set(metric, set);
    const target = metric as Collecting;
    const own = target.collect;
    target.collect = function collect(this: unknown) {
      for (const s of set) s.flush();
      return own?.call(this);
    };
  }
  all.add(series);
}

function detach(metric: object, series: Flushable): void {
  seriesOf.get(metric)?.delete(series);
}

/** A counter's series: `inc` adds to a number, handed to the counter at the next read. */
export class CounterSeries<T extends string = string> {
  private pending = 0;

  constructor(
    private readonly counter: Counter<T>,
    readonly labels: LabelValues<T>,
  ) {
    // It exists at 0 from the start, so that a rate reads 0 rather than nothing.
    counter.inc(labels, 0);
    attach(counter, this);
  }

  inc(by = 1): void {
    this.pending += by;
  }

  flush(): void {
    if (this.pending === 0) return;
    this.counter.inc(this.labels, this.pending);
    this.pending = 0;
  }

  /**
   * No more updates: what was counted is handed over, or with `remove` the series is removed.
   * For `removeSeries`: a shared series closed by hand would be handed out again, never read.
   */
  close(remove = false): void {
    detach(this.counter, this);
    if (remove) this.counter.remove(this.labels);
    else this.flush();
  }
}

/** A gauge's series: `set` keeps the value, handed to the gauge at the next read. */
export class GaugeSeries<T extends string = string> {
  private value: number | undefined;

  constructor(
    private readonly gauge: Gauge<T>,
    readonly labels: LabelValues<T>,
  ) {
    attach(gauge, this);
  }

  set(value: number): void {
    this.value = value;
  }

  flush(): void {
    if (this.value === undefined) return;
    this.gauge.set(this.labels, this.value);
    this.value = undefined;
  }

  /**
   * No more updates: the last value is handed over, or with `remove` the series is removed.
   * For `removeSeries`, as `CounterSeries.close`.
   */
  close(remove = false): void {
    detach(this.gauge, this);
    if (remove) {
      this.value = undefined;
      this.gauge.remove(this.labels);
    } else this.flush();
  }
}

/** The shared series of each metric, by label values. */
const sharedOf = new WeakMap<object, Map<string, CounterSeries | GaugeSeries>>();

function keyOf(labels: LabelValues<string>): string {
  let key = "";
  for (const name in labels) key += `${name}\u0000${String(labels[name])}\u0001`;
  return key;
}

function shared<S extends CounterSeries | GaugeSeries>(
  metric: object,
  labels: LabelValues<string>,
  make: () => S,
): S {
  let byKey = sharedOf.get(metric);
  if (!byKey) {
    byKey = new Map();
    sharedOf.set(metric, byKey);
  }
  const key = keyOf(labels);
  let found = byKey.get(key) as S | undefined;
  if (!found) {
    found = make();
    byKey.set(key, found);
  }
  return found;
}

/**
 * The series of `labels` of `counter`, one per label values whoever asks (a shard that restarts
 * gets its predecessor's): keep it, a lookup builds a key. For label values of a bounded set.
 */
export function counterSeries<T extends string>(
  counter: Counter<T>,
  labels: LabelValues<T>,
): CounterSeries<T> {
  return shared(counter, labels, () => new CounterSeries(counter, labels)) as CounterSeries<T>;
}

/** The series of `labels` of `gauge`, one per label values whoever asks (see counterSeries). */
export function gaugeSeries<T extends string>(
  gauge: Gauge<T>,
  labels: LabelValues<T>,
): GaugeSeries<T> {
  return shared(gauge, labels, () => new GaugeSeries(gauge, labels)) as GaugeSeries<T>;
}

/** Removes the series of `labels` from `metric` (a retired model version, a revoked shard). */
export function removeSeries<T extends string>(
  metric: Counter<T> | Gauge<T>,
  labels: LabelValues<T>,
): void {
  const key = keyOf(labels);
  const byKey = sharedOf.get(metric);
  const found = byKey?.get(key);
  if (found) {
    found.close(true);
    byKey?.delete(key);
  } else metric.remove(labels);
}
