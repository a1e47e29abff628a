/**
 * Predictions awaiting their labels, one store per shard ("predict first, then learn",
 * DESIGN.md): each scored transaction is kept, with the features it was scored on, until its
 * label arrives, and bounded by count and by age in EVENT time (labels and transactions carry
 * event time, so the bound does not depend on how fast a replay runs). The oldest are evicted
 * first (insertion order, which is the partition's order), and evictions are counted.
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

/**
 * @example
 * const store = new PredictionStore({ maxCount: 1000 });
 * store.put(prediction);
 * const found = store.take(label.transaction_id); // and it is gone from the store
 */
export class PredictionStore {
  /** By transaction id; Map iteration is insertion order, so the first entry is the oldest. */
  private readonly byId = new Map<string, StoredPrediction>();
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
    return this.byId.size;
  }

  /** Keeps a prediction (a re-scored transaction replaces its older prediction). */
  put(prediction: StoredPrediction): void {
    this.byId.delete(prediction.transaction_id);
    this.byId.set(prediction.transaction_id, prediction);
    let over = this.byId.size - this.maxCount;
    if (over > 0) {
      const n = over;
      for (const id of this.byId.keys()) {
        this.byId.delete(id);
        if (--over === 0) break;
      }
      this.evicted.count += n;
      this.options.onEvict?.("count", n);
    }
    this.advance(prediction.eventTimeMs);
  }

  /** The prediction of a transaction, removed from the store; undefined when not held. */
  take(transactionId: string): StoredPrediction | undefined {
    const found = this.byId.get(transactionId);
    if (found) this.byId.delete(transactionId);
    return found;
  }

  has(transactionId: string): boolean {
    return this.byId.has(transactionId);
  }

  /**
   * Event time moved on (a transaction or a label): evicts, oldest first, the predictions older
   * than the age bound. Stops at the first young enough one (event time is near-ordered).
   */
  advance(eventTimeMs: number): void {
    if (!(eventTimeMs > this.newestMs)) return;
    this.newestMs = eventTimeMs;
    const oldestKept = eventTimeMs - this.maxAgeMs;
    let n = 0;
    for (const [id, prediction] of this.byId) {
      if (prediction.eventTimeMs >= oldestKept) break;
      this.byId.delete(id);
      n++;
    }
    if (n > 0) {
      this.evicted.age += n;
      this.options.onEvict?.("age", n);
    }
  }

  clear(): void {
    this.byId.clear();
  }
}
