/**
 * Predictions awaiting their labels, one store per shard ("predict first, then learn",
 * DESIGN.md): each scored transaction is kept, with the features it was scored on, until its
 * label arrives, and bounded by count and by age in EVENT time (labels and transactions carry
 * event time, so the bound does not depend on how fast a replay runs). The oldest are evicted
 * first (insertion order, which is the partition's order), and evictions are counted.
 *
 * Nothing here is a JS object the collector traces: the predictions are columns of typed
 * arrays, found through an open-addressing hash table (also a typed array) on two 32-bit hashes of
 * the transaction id, checked against a hash of the card id. Every scored transaction waits here
 * for its label, long enough to be promoted; held in a Map of objects, or in arrays of strings, each
 * prediction was more for every young collection to trace, and each put and take dirtied a
 * structure of 200k entries that the collector then scanned again whole: at 10k events/s the
 * young collections were ~25 % longer with a full store than with a small one (JSC's GC log,
 * bench/e2e-fraud.ts), and they are the latency tail (README, Performance).
 */
import { hash32, hash32b } from "./hash.ts";
import type { PredictionOps } from "./prediction-journal.ts";

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

/** A prediction's stored numbers: what a journal replays (ids and cards are kept as hashes). */
export type PredictionNumbers = Pick<
  StoredPrediction,
  "score" | "threshold" | "model_version" | "featureSchemaVersion" | "amount" | "eventTimeMs"
>;

export type EvictionReason = "count" | "age";

/** Where a store stood when a journal entry was cut (see `PredictionStore.replay`). */
export interface StoreCut {
  /** The oldest prediction's number; the next put's when none was held. */
  oldestSerial: number;
  newestEventMs: number;
  nextSerial: number;
}

export interface PredictionStoreOptions {
  /** Most predictions held (default 200,000). */
  maxCount?: number;
  /** Oldest event time kept, behind the newest event time seen (default 60 days). */
  maxAgeMs?: number;
  onEvict?: (reason: EvictionReason, count: number) => void;
  /**
   * Where the store writes down each change that a replay must repeat (puts, takes, event time
   * from labels), for its journal in the shard's checkpoint (prediction-journal.ts).
   */
  ops?: PredictionOps;
}

export const PREDICTIONS_MAX_DEFAULT = 200_000;
export const PREDICTION_AGE_MAX_MS_DEFAULT = 60 * 24 * 3600 * 1000;
/** No slot: the end of the order list or of the free list. */
const NONE = -1;

/**
 * Two independent 32-bit hashes of a string: the card state's FNV-1a ({@link hash32}) and a
 * multiplicative one, over UTF-16 code units. With 64 bits, two of 200k ids collide with
 * probability ~1e-9, and a match must also have the same card.
 */
const hashA = hash32;
const hashB = hash32b;

/**
 * The columns: slot i of each is one prediction. Allocated once, for the count bound, on the first
 * put: the operating system maps a large typed array's pages as they are first written, so an
 * unused slot costs address space, not memory, and the store never copies itself to grow (each
 * doubling of a growing ring used to stop the event loop for a copy of every row held: ~7 ms at
 * 32k predictions, README, Performance). Freed slots are reused first, so the pages written are
 * those of the most predictions held at once.
 */
class Columns {
  readonly idA: Uint32Array;
  readonly idB: Uint32Array;
  readonly card: Uint32Array;
  readonly features: Float32Array;
  readonly scores: Float64Array;
  readonly thresholds: Float64Array;
  readonly amounts: Float64Array;
  readonly eventTimes: Float64Array;
  readonly versions: Int32Array;
  readonly schemaVersions: Int32Array;
  /**
   * Each prediction's put number, increasing with every put: the order list is in put order, so
   * its first prediction's is the oldest held, and every prediction evicted or gone had a lower one.
   */
  readonly serials: Float64Array;
  /**
   * The predictions held, oldest first, as a doubly linked list of slots (NONE ends it); a free
   * slot's `next` links the free list instead. Eviction by count or age takes from the front.
   */
  readonly prev: Int32Array;
  readonly next: Int32Array;
  /**
   * Open addressing, linear probing, at most half full: slot + 1, or 0 for an empty position (a
   * fresh array is all empty). Deletion shifts the entries after it back, so no mark is left to
   * slow probes down and the table is never rebuilt.
   */
  readonly table: Int32Array;

  constructor(
    readonly slots: number,
    readonly width: number,
  ) {
    this.idA = new Uint32Array(slots);
    this.idB = new Uint32Array(slots);
    this.card = new Uint32Array(slots);
    this.features = new Float32Array(slots * width);
    this.scores = new Float64Array(slots);
    this.thresholds = new Float64Array(slots);
    this.amounts = new Float64Array(slots);
    this.eventTimes = new Float64Array(slots);
    this.versions = new Int32Array(slots);
    this.schemaVersions = new Int32Array(slots);
    this.serials = new Float64Array(slots);
    this.prev = new Int32Array(slots);
    this.next = new Int32Array(slots);
    this.table = new Int32Array(2 ** Math.ceil(Math.log2(slots * 2)));
  }
}

/**
 * @example
 * const store = new PredictionStore({ maxCount: 1000 });
 * store.put(fields, featureRows, rowIndex * featureCount, featureCount);
 * const found = store.take(label.transaction_id, label.card_id); // and it is gone from the store
 */
export class PredictionStore {
  private columns: Columns | null = null;
  /** The oldest and the newest prediction's slot (the order list's ends), NONE when empty. */
  private head = NONE;
  private tail = NONE;
  private count = 0;
  /** Freed slots, most recently freed first (linked through `next`). */
  private freeHead = NONE;
  /** Slots handed out at least once: those from here on were never written. */
  private used = 0;
  private readonly maxCount: number;
  private readonly maxAgeMs: number;
  private newestMs = Number.NEGATIVE_INFINITY;
  /** The next put's number (see `Columns.serials`). */
  private nextSerial = 0;
  /** Unset while a journal is replayed: what it repeats is written down already. */
  private ops: PredictionOps | undefined;
  /** False while a journal is replayed: those evictions were counted by the run that made them. */
  private counting = true;
  readonly evicted: Record<EvictionReason, number> = { count: 0, age: 0 };

  constructor(private readonly options: PredictionStoreOptions = {}) {
    this.maxCount = options.maxCount ?? PREDICTIONS_MAX_DEFAULT;
    this.maxAgeMs = options.maxAgeMs ?? PREDICTION_AGE_MAX_MS_DEFAULT;
    if (!(this.maxCount >= 1)) throw new RangeError(`maxCount ${this.maxCount}; expected >= 1`);
    if (!(this.maxAgeMs > 0)) throw new RangeError(`maxAgeMs ${this.maxAgeMs}; expected > 0`);
    this.ops = options.ops;
  }

  get size(): number {
    return this.count;
  }

  /** Values in each feature row held (0 before the first put). */
  get featureWidth(): number {
    return this.columns?.width ?? 0;
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
    const a = hashA(fields.transaction_id);
    const b = hashB(fields.transaction_id);
    const card = hashA(fields.card_id);
    this.ops?.put(
      this.nextSerial,
      a,
      b,
      card,
      fields.score,
      fields.threshold,
      fields.amount,
      fields.eventTimeMs,
      fields.model_version,
      fields.featureSchemaVersion,
      features,
      featuresAt,
      width,
    );
    this.putHashed(a, b, card, fields, features, featuresAt, width);
  }

  /**
   * `put` of a prediction whose ids are already hashed, numbered `serial` (a journal's replay
   * gives the number the prediction had; by default the next one).
   */
  putHashed(
    a: number,
    b: number,
    card: number,
    fields: PredictionNumbers,
    features: Float32Array,
    featuresAt: number,
    width: number,
    serial = this.nextSerial,
  ): void {
    const replaced = this.find(a, b);
    if (replaced >= 0) this.remove(replaced);
    const columns = this.columnsOf(width);
    const slot = this.allocate(columns);
    this.count++;
    this.nextSerial = serial + 1;
    columns.idA[slot] = a;
    columns.idB[slot] = b;
    columns.card[slot] = card;
    const base = slot * width;
    for (let k = 0; k < width; k++) columns.features[base + k] = features[featuresAt + k] as number;
    columns.scores[slot] = fields.score;
    columns.thresholds[slot] = fields.threshold;
    columns.amounts[slot] = fields.amount;
    columns.eventTimes[slot] = fields.eventTimeMs;
    columns.versions[slot] = fields.model_version;
    columns.schemaVersions[slot] = fields.featureSchemaVersion;
    columns.serials[slot] = serial;
    this.index(columns, slot);
    const over = this.count - this.maxCount;
    if (over > 0) {
      this.dropOldest(over);
      this.evictedBy("count", over);
    }
    this.advanceTo(fields.eventTimeMs);
  }

  /**
   * The prediction of a transaction of this card, removed from the store; undefined when none is
   * held (or the one held is another card's: ids are matched by hash, and the card guards that).
   */
  take(transactionId: string, cardId: string): StoredPrediction | undefined {
    const columns = this.columns;
    const at = this.find(hashA(transactionId), hashB(transactionId));
    if (!columns || at < 0) return undefined;
    const slot = (columns.table[at] as number) - 1;
    if (columns.card[slot] !== hashA(cardId)) return undefined;
    const { width } = columns;
    const score = columns.scores[slot] as number;
    const threshold = columns.thresholds[slot] as number;
    const found: StoredPrediction = {
      transaction_id: transactionId,
      card_id: cardId,
      score,
      decision: score >= threshold ? "flag" : "pass",
      threshold,
      model_version: columns.versions[slot] as number,
      features: columns.features.slice(slot * width, (slot + 1) * width),
      featureSchemaVersion: columns.schemaVersions[slot] as number,
      amount: columns.amounts[slot] as number,
      eventTimeMs: columns.eventTimes[slot] as number,
    };
    this.ops?.take(columns.idA[slot] as number, columns.idB[slot] as number);
    this.remove(at);
    return found;
  }

  /** Removes the prediction with these id hashes, if held (a journal's replay of a take). */
  takeHashed(a: number, b: number): void {
    this.remove(this.find(a, b));
  }

  has(transactionId: string): boolean {
    return this.find(hashA(transactionId), hashB(transactionId)) >= 0;
  }

  /**
   * Event time moved on (a label): evicts, oldest first, the predictions older than the age
   * bound. Stops at the first young enough one (event time is near-ordered).
   */
  advance(eventTimeMs: number): void {
    if (!(eventTimeMs > this.newestMs)) return;
    this.ops?.advance(eventTimeMs);
    this.advanceTo(eventTimeMs);
  }

  /** The number of the oldest prediction held; the next put's when none is. */
  private get oldestSerial(): number {
    const columns = this.columns;
    if (!columns || this.head === NONE) return this.nextSerial;
    return columns.serials[this.head] as number;
  }

  /**
   * Replays a journal's entries, in order, through `run` (which calls `putHashed`,
   * `takeHashed` and `advance` as the run that wrote them did), and then makes the store what
   * it was when the last one was cut: the predictions numbered below that cut's oldest are gone
   * (evicted or taken in entries the journal no longer keeps), and event time stands where it
   * stood. Evictions while replaying are not counted again. The journal's own changes are not
   * recorded again either.
   *
   * Exact while event times are in order within the age bound (transactions are at most
   * minutes out of order; the bound is 60 days): the age eviction stops at the first young
   * prediction, so with predictions older than the bound behind younger ones, which of them
   * go depends on where the replay began (found by a random search over tiny bounds).
   */
  replay(run: (resumeAt: (newestEventMs: number) => void) => StoreCut | null): void {
    const ops = this.ops;
    this.ops = undefined;
    this.counting = false;
    try {
      const cut = run((newestEventMs) => {
        this.newestMs = newestEventMs;
      });
      if (!cut) return;
      this.dropBefore(cut.oldestSerial);
      this.advanceTo(cut.newestEventMs);
      this.nextSerial = Math.max(this.nextSerial, cut.nextSerial);
    } finally {
      this.counting = true;
      this.ops = ops;
    }
  }

  /** Writes every prediction held to `ops` as a put, oldest first: a journal's snapshot. */
  writeAll(ops: PredictionOps): void {
    const columns = this.columns;
    if (!columns) return;
    const { width } = columns;
    for (let slot = this.head; slot !== NONE; slot = columns.next[slot] as number) {
      ops.put(
        columns.serials[slot] as number,
        columns.idA[slot] as number,
        columns.idB[slot] as number,
        columns.card[slot] as number,
        columns.scores[slot] as number,
        columns.thresholds[slot] as number,
        columns.amounts[slot] as number,
        columns.eventTimes[slot] as number,
        columns.versions[slot] as number,
        columns.schemaVersions[slot] as number,
        columns.features,
        slot * width,
        width,
      );
    }
  }

  /** Where the store stands, as a journal entry records it when cut. */
  cut(): StoreCut {
    return {
      oldestSerial: this.oldestSerial,
      newestEventMs: this.newestMs,
      nextSerial: this.nextSerial,
    };
  }

  /** Removes, oldest first, the predictions numbered below `serial`. */
  private dropBefore(serial: number): void {
    const columns = this.columns;
    if (!columns) return;
    while (this.head !== NONE && (columns.serials[this.head] as number) < serial) {
      this.evictHead(columns);
    }
  }

  private evictedBy(reason: EvictionReason, n: number): void {
    if (!this.counting) return;
    this.evicted[reason] += n;
    this.options.onEvict?.(reason, n);
  }

  private advanceTo(eventTimeMs: number): void {
    if (!(eventTimeMs > this.newestMs)) return;
    this.newestMs = eventTimeMs;
    const columns = this.columns;
    if (!columns) return;
    const oldestKept = eventTimeMs - this.maxAgeMs;
    let n = 0;
    while (this.head !== NONE && (columns.eventTimes[this.head] as number) < oldestKept) {
      n++;
      this.evictHead(columns);
    }
    if (n > 0) this.evictedBy("age", n);
  }

  clear(): void {
    this.columns = null;
    this.head = NONE;
    this.tail = NONE;
    this.count = 0;
    this.freeHead = NONE;
    this.used = 0;
    this.newestMs = Number.NEGATIVE_INFINITY;
    this.nextSerial = 0;
  }

  /** The table position holding the id with these hashes, or -1. */
  private find(a: number, b: number): number {
    const columns = this.columns;
    if (!columns || this.count === 0) return -1;
    const { table, idA, idB } = columns;
    const mask = table.length - 1;
    for (let at = a & mask; ; at = (at + 1) & mask) {
      const entry = table[at] as number;
      if (entry === 0) return -1;
      if (idA[entry - 1] === a && idB[entry - 1] === b) return at;
    }
  }

  /** Puts a slot in the table (its id is not there). */
  private index(columns: Columns, slot: number): void {
    const { table } = columns;
    const mask = table.length - 1;
    let at = (columns.idA[slot] as number) & mask;
    while (table[at] !== 0) at = (at + 1) & mask;
    table[at] = slot + 1;
  }

  /**
   * Empties a table position, moving back the entries after it that probes would no longer reach
   * (Knuth's deletion for linear probing: an entry stays only if its home position lies after the
   * emptied one, up to where it is).
   */
  private unindex(columns: Columns, at: number): void {
    const { table, idA } = columns;
    const mask = table.length - 1;
    let gap = at;
    for (let probe = (gap + 1) & mask; ; probe = (probe + 1) & mask) {
      const entry = table[probe] as number;
      if (entry === 0) break;
      const home = (idA[entry - 1] as number) & mask;
      const reachable = gap <= probe ? gap < home && home <= probe : gap < home || home <= probe;
      if (reachable) continue;
      table[gap] = entry;
      gap = probe;
    }
    table[gap] = 0;
  }

  /** Removes the prediction at a table position (and frees its slot). */
  private remove(at: number): void {
    const columns = this.columns;
    if (!columns || at < 0) return;
    const slot = (columns.table[at] as number) - 1;
    this.unindex(columns, at);
    this.release(columns, slot);
  }

  /** Evicts the `n` oldest predictions held. */
  private dropOldest(n: number): void {
    const columns = this.columns;
    if (!columns) return;
    for (let left = n; left > 0 && this.head !== NONE; left--) this.evictHead(columns);
  }

  /** Removes the oldest prediction held, with its table entry. */
  private evictHead(columns: Columns): void {
    const slot = this.head;
    const at = this.find(columns.idA[slot] as number, columns.idB[slot] as number);
    if (at >= 0 && (columns.table[at] as number) - 1 === slot) this.remove(at);
    else this.release(columns, slot);
  }

  /** The columns, made on the first put for the count bound and this row width. */
  private columnsOf(width: number): Columns {
    // One slot over the bound: a put lands before the eviction it causes.
    this.columns ??= new Columns(this.maxCount + 1, width);
    return this.columns;
  }

  /** A free slot, linked as the newest prediction. */
  private allocate(columns: Columns): number {
    let slot = this.freeHead;
    if (slot !== NONE) this.freeHead = columns.next[slot] as number;
    else slot = this.used++;
    columns.prev[slot] = this.tail;
    columns.next[slot] = NONE;
    if (this.tail === NONE) this.head = slot;
    else columns.next[this.tail] = slot;
    this.tail = slot;
    return slot;
  }

  /** Unlinks a slot from the order list and frees it (its table entry is gone already). */
  private release(columns: Columns, slot: number): void {
    const before = columns.prev[slot] as number;
    const after = columns.next[slot] as number;
    if (before === NONE) this.head = after;
    else columns.next[before] = after;
    if (after === NONE) this.tail = before;
    else columns.prev[after] = before;
    columns.next[slot] = this.freeHead;
    this.freeHead = slot;
    this.count--;
  }
}
