/**
 * Predictions awaiting their labels, one store per shard ("predict first, then learn",
 * DESIGN.md): each scored transaction is kept, with the features it was scored on, until its
 * label arrives, and bounded by count and by age in EVENT time (labels and transactions carry
 * event time, so the bound does not depend on how fast a replay runs). The oldest are evicted
 * first (insertion order, which is the partition's order), and evictions are counted.
 *
 * Stored by column, in a ring of typed arrays (features, scores, times...) indexed from a map of
 * transaction ids: a prediction costs its numbers, its id and one map entry, not an object, a
 * feature array and their headers. Every scored transaction stays here until its label comes, so
 * they outlive the young generation: fewer objects per prediction is less for the collector to
 * trace on every young collection (the latency tail, see the README's Performance), and less
 * memory at the count bound.
 */

export interface StoredPrediction {
  transaction_id: string;
  card_id: string;
  score: number;
  decision: "flag" | "pass";
  threshold: number;
  model_version: number;
  /** The feature row the score was computed from (features at prediction time). */
  features: Float32Array;
  /** Version of the feature schema the row follows (the scoring model's). */
  featureSchemaVersion: number;
  amount: number;
  /** The transaction's event time, ms since the epoch. */
  eventTimeMs: number;
}

/** What `put` takes besides the feature row. */
export type PredictionFields = Omit<StoredPrediction, "features">;

export type EvictionReason = "count" | "age";

export interface PredictionStoreOptions {
  /** Most predictions held (default 200,000). */
  maxCount?: number;
  /** Oldest event time kept, behind the newest event time seen (default 60 days). */
  maxAgeMs?: number;
  onEvict?: (reason: EvictionReason, count: number) => void;
}

export const PREDICTIONS_MAX_DEFAULT = 200_000;
export const PREDICTION_AGE_MAX_MS_DEFAULT = 60 * 24 * 3600 * 1000;
/** Slots of a store's first ring; it doubles as predictions accumulate, up to the count bound. */
const INITIAL_SLOTS = 1024;

/** The columns of the ring; slot i of each is one prediction. */
class Columns {
  readonly ids: (string | undefined)[];
  readonly cards: string[];
  readonly features: Float32Array;
  readonly scores: Float64Array;
  readonly thresholds: Float64Array;
  readonly amounts: Float64Array;
  readonly eventTimes: Float64Array;
  readonly versions: Int32Array;
  readonly schemaVersions: Int32Array;

  constructor(
    readonly slots: number,
    readonly width: number,
  ) {
    this.ids = new Array<string | undefined>(slots).fill(undefined);
    this.cards = new Array<string>(slots).fill("");
    this.features = new Float32Array(slots * width);
    this.scores = new Float64Array(slots);
    this.thresholds = new Float64Array(slots);
    this.amounts = new Float64Array(slots);
    this.eventTimes = new Float64Array(slots);
    this.versions = new Int32Array(slots);
    this.schemaVersions = new Int32Array(slots);
  }
}

/**
 * @example
 * const store = new PredictionStore({ maxCount: 1000 });
 * store.put(fields, featureRows, rowIndex * featureCount);
 * const found = store.take(label.transaction_id); // and it is gone from the store
 */
export class PredictionStore {
  /** Transaction id → its slot in the ring. */
  private readonly slotOf = new Map<string, number>();
  private columns: Columns | null = null;
  /** Oldest slot in use (possibly a hole: taken or replaced) and the next slot to fill. */
  private head = 0;
  /** Slots between head and the next free one, holes included. */
  private span = 0;
  private readonly maxCount: number;
  private readonly maxAgeMs: number;
  private newestMs = Number.NEGATIVE_INFINITY;
  readonly evicted: Record<EvictionReason, number> = { count: 0, age: 0 };

  constructor(private readonly options: PredictionStoreOptions = {}) {
    this.maxCount = options.maxCount ?? PREDICTIONS_MAX_DEFAULT;
    this.maxAgeMs = options.maxAgeMs ?? PREDICTION_AGE_MAX_MS_DEFAULT;
    if (!(this.maxCount >= 1)) throw new RangeError(`maxCount ${this.maxCount}; expected >= 1`);
    if (!(this.maxAgeMs > 0)) throw new RangeError(`maxAgeMs ${this.maxAgeMs}; expected > 0`);
  }

  get size(): number {
    return this.slotOf.size;
  }

  /**
   * Keeps a prediction with its feature row, the `width` values of `features` from `featuresAt`
   * (a batch's rows are one buffer). Every row has the width of the first one stored (the use
   * case's feature count). A re-scored transaction replaces its older prediction.
   */
  put(
    fields: PredictionFields,
    features: Float32Array,
    featuresAt = 0,
    width = features.length - featuresAt,
  ): void {
    if (featuresAt < 0 || width < 0 || featuresAt + width > features.length) {
      throw new RangeError(
        `a feature row of ${width} from ${featuresAt} does not fit ${features.length} values`,
      );
    }
    if (this.columns && this.columns.width !== width) {
      throw new RangeError(
        `a feature row of ${width}; this store holds rows of ${this.columns.width}`,
      );
    }
    this.forget(fields.transaction_id);
    const columns = this.room(width);
    const slot = (this.head + this.span) % columns.slots;
    this.span++;
    columns.ids[slot] = fields.transaction_id;
    columns.cards[slot] = fields.card_id;
    const base = slot * width;
    for (let k = 0; k < width; k++) columns.features[base + k] = features[featuresAt + k] as number;
    columns.scores[slot] = fields.score;
    columns.thresholds[slot] = fields.threshold;
    columns.amounts[slot] = fields.amount;
    columns.eventTimes[slot] = fields.eventTimeMs;
    columns.versions[slot] = fields.model_version;
    columns.schemaVersions[slot] = fields.featureSchemaVersion;
    this.slotOf.set(fields.transaction_id, slot);
    const over = this.slotOf.size - this.maxCount;
    if (over > 0) {
      this.dropOldest(over);
      this.evicted.count += over;
      this.options.onEvict?.("count", over);
    }
    this.advance(fields.eventTimeMs);
  }

  /** The prediction of a transaction, removed from the store; undefined when not held. */
  take(transactionId: string): StoredPrediction | undefined {
    const slot = this.slotOf.get(transactionId);
    const columns = this.columns;
    if (slot === undefined || !columns) return undefined;
    const { width } = columns;
    const score = columns.scores[slot] as number;
    const threshold = columns.thresholds[slot] as number;
    const found: StoredPrediction = {
      transaction_id: transactionId,
      card_id: columns.cards[slot] as string,
      score,
      decision: score >= threshold ? "flag" : "pass",
      threshold,
      model_version: columns.versions[slot] as number,
      features: columns.features.slice(slot * width, (slot + 1) * width),
      featureSchemaVersion: columns.schemaVersions[slot] as number,
      amount: columns.amounts[slot] as number,
      eventTimeMs: columns.eventTimes[slot] as number,
    };
    this.forget(transactionId);
    return found;
  }

  has(transactionId: string): boolean {
    return this.slotOf.has(transactionId);
  }

  /**
   * Event time moved on (a transaction or a label): evicts, oldest first, the predictions older
   * than the age bound. Stops at the first young enough one (event time is near-ordered).
   */
  advance(eventTimeMs: number): void {
    if (!(eventTimeMs > this.newestMs)) return;
    this.newestMs = eventTimeMs;
    const columns = this.columns;
    if (!columns) return;
    const oldestKept = eventTimeMs - this.maxAgeMs;
    let n = 0;
    while (this.span > 0) {
      const slot = this.head;
      const id = columns.ids[slot];
      if (id !== undefined && (columns.eventTimes[slot] as number) >= oldestKept) break;
      if (id !== undefined) {
        this.slotOf.delete(id);
        n++;
      }
      this.release(columns, slot);
    }
    if (n > 0) {
      this.evicted.age += n;
      this.options.onEvict?.("age", n);
    }
  }

  clear(): void {
    this.slotOf.clear();
    this.columns = null;
    this.head = 0;
    this.span = 0;
  }

  /** Removes a transaction's prediction, leaving a hole its slot's turn at the head clears. */
  private forget(transactionId: string): void {
    const slot = this.slotOf.get(transactionId);
    if (slot === undefined || !this.columns) return;
    this.slotOf.delete(transactionId);
    this.columns.ids[slot] = undefined;
    while (this.span > 0 && this.columns.ids[this.head] === undefined) {
      this.release(this.columns, this.head);
    }
  }

  /** Evicts the `count` oldest predictions held (holes on the way are cleared). */
  private dropOldest(count: number): void {
    const columns = this.columns;
    if (!columns) return;
    let left = count;
    while (left > 0 && this.span > 0) {
      const id = columns.ids[this.head];
      if (id !== undefined) {
        this.slotOf.delete(id);
        left--;
      }
      this.release(columns, this.head);
    }
  }

  /** Frees the head slot. */
  private release(columns: Columns, slot: number): void {
    columns.ids[slot] = undefined;
    columns.cards[slot] = "";
    this.head = (this.head + 1) % columns.slots;
    this.span--;
  }

  /**
   * Columns with a free slot after the last one in use: the ring as it is, or a new one holding
   * the live predictions in order (twice as many slots, within the count bound plus a quarter for
   * the holes that taken and replaced predictions leave until they reach the head).
   */
  private room(width: number): Columns {
    const current = this.columns;
    if (current && this.span < current.slots) return current;
    const live = this.slotOf.size;
    const cap = this.maxCount + Math.max(INITIAL_SLOTS, Math.ceil(this.maxCount / 4));
    const slots = Math.min(cap, Math.max(INITIAL_SLOTS, 2 * (live + 1)));
    const next = new Columns(slots, width);
    let to = 0;
    if (current) {
      for (let k = 0; k < this.span; k++) {
        const from = (this.head + k) % current.slots;
        const id = current.ids[from];
        if (id === undefined) continue;
        next.ids[to] = id;
        next.cards[to] = current.cards[from] as string;
        next.features.set(current.features.subarray(from * width, (from + 1) * width), to * width);
        next.scores[to] = current.scores[from] as number;
        next.thresholds[to] = current.thresholds[from] as number;
        next.amounts[to] = current.amounts[from] as number;
        next.eventTimes[to] = current.eventTimes[from] as number;
        next.versions[to] = current.versions[from] as number;
        next.schemaVersions[to] = current.schemaVersions[from] as number;
        this.slotOf.set(id, to);
        to++;
      }
    }
    this.columns = next;
    this.head = 0;
    this.span = to;
    return next;
  }
}
