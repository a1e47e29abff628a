/**
 * The entities a shard holds in memory: their states, which ones changed since the last
 * checkpoint, and which ones to passivate.
 *
 * Passivation uses CLOCK (an LRU approximation): entries sit in a Map in insertion order; a sweep
 * walks from the oldest, gives a second chance to entries touched since the previous sweep (moving
 * them to the back) and evicts the others. Only clean entries (whose state is in the checkpoint)
 * are evicted, so the store always holds the state of the stored position: evicting a dirty
 * entity would lose events or, restored later, count them twice.
 */

/** An entity in memory. Handed out by `entry()` so the hot path looks a key up only once. */
export interface Entry<S> {
  readonly key: string;
  state: S;
  /** Tick of the last event; compared with the tick of the previous sweep. */
  touchedTick: number;
  /** Changed since the last checkpoint (then it is also in the dirty list). */
  dirty: boolean;
  /**
   * Part of a checkpoint whose states are still being encoded: its state must be encoded before
   * the next update changes it (see `Shard`), and it is not evicted meanwhile.
   */
  inSnapshot: boolean;
}

export interface Eviction {
  idle: number;
  overLimit: number;
}

export class EntityTable<S> {
  private readonly entries = new Map<string, Entry<S>>();
  /** Entries changed since the last checkpoint; a list, not a Set: no hashing per event. */
  private dirtyEntries: Entry<S>[] = [];
  private tick = 1;
  /** Tick of the previous sweep of any kind: CLOCK's second chance is relative to it. */
  private lastSweepTick = 0;
  /** Tick and time of the previous idle sweep: untouched since then, and it is long enough ago. */
  private idleSweepTick = 0;
  private idleSweepAtMs = Date.now();

  /** @param maxEntities the in-memory bound; a sweep brings the table back to 90 % of it. */
  constructor(readonly maxEntities: number) {}

  get size(): number {
    return this.entries.size;
  }

  get dirtyCount(): number {
    return this.dirtyEntries.length;
  }

  /** Starts a new batch: entries touched from now on survive the next sweep. */
  nextTick(): void {
    this.tick++;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  get(key: string): S | undefined {
    return this.entries.get(key)?.state;
  }

  /** The entry of a key in memory, for a read-then-update with one lookup. */
  entry(key: string): Entry<S> | undefined {
    return this.entries.get(key);
  }

  /** Sets a state changed by an event: it is dirty until the next checkpoint. */
  set(key: string, state: S): void {
    const entry = this.entries.get(key);
    if (entry) this.update(entry, state);
    else this.insert(key, state);
  }

  /** Updates an entry got from `entry()`. */
  update(entry: Entry<S>, state: S): void {
    entry.state = state;
    entry.touchedTick = this.tick;
    if (!entry.dirty) {
      entry.dirty = true;
      this.dirtyEntries.push(entry);
    }
  }

  /** Adds a new entity, dirty until the next checkpoint. */
  insert(key: string, state: S): void {
    const entry: Entry<S> = { key, state, touchedTick: this.tick, dirty: true, inSnapshot: false };
    this.entries.set(key, entry);
    this.dirtyEntries.push(entry);
  }

  /** Loads a state as stored (clean), e.g. on restore or after a store lookup. */
  load(key: string, state: S): void {
    this.entries.set(key, { key, state, touchedTick: this.tick, dirty: false, inSnapshot: false });
  }

  /**
   * Starts a checkpoint: returns the dirty entries, now clean and marked `inSnapshot` until their
   * state is encoded. Entries changed from now on are dirty for the next checkpoint.
   */
  takeDirty(): Entry<S>[] {
    const taken = this.dirtyEntries;
    for (const entry of taken) {
      entry.dirty = false;
      entry.inSnapshot = true;
    }
    this.dirtyEntries = [];
    return taken;
  }

  /** Forgets everything (the shard is revoked or restarted). */
  clear(): void {
    this.entries.clear();
    this.dirtyEntries = [];
  }

  /** True when a sweep would have work: over the limit, or the idle time has passed. */
  needsSweep(idleMs: number, nowMs: number): boolean {
    return this.entries.size > this.maxEntities || nowMs - this.idleSweepAtMs >= idleMs;
  }

  /**
   * Evicts clean entries not touched since the previous sweep when their sweep is older than
   * `idleMs`, and, while over the limit, clean entries in CLOCK order down to 90 % of the limit.
   */
  sweep(idleMs: number, nowMs: number): Eviction {
    const eviction: Eviction = { idle: 0, overLimit: 0 };
    const idleCutoffTick = nowMs - this.idleSweepAtMs >= idleMs ? this.idleSweepTick : -1;
    const target = Math.floor(this.maxEntities * 0.9);
    const secondChances: Entry<S>[] = [];
    for (const [key, entry] of this.entries) {
      const overLimit = this.entries.size > target;
      const idle = entry.touchedTick <= idleCutoffTick;
      if (!overLimit && idleCutoffTick < 0) break;
      if (entry.dirty || entry.inSnapshot) continue;
      if (idle) {
        this.entries.delete(key);
        eviction.idle++;
      } else if (overLimit && entry.touchedTick <= this.lastSweepTick) {
        this.entries.delete(key);
        eviction.overLimit++;
      } else if (overLimit) {
        secondChances.push(entry);
      }
    }
    // Touched entries move to the back so the next sweep looks at older ones first.
    for (const entry of secondChances) {
      this.entries.delete(entry.key);
      this.entries.set(entry.key, entry);
    }
    // Still over: every clean entry was touched recently; evict them oldest first.
    if (this.entries.size > target) {
      for (const [key, entry] of this.entries) {
        if (this.entries.size <= target) break;
        if (entry.dirty || entry.inSnapshot) continue;
        this.entries.delete(key);
        eviction.overLimit++;
      }
    }
    if (idleCutoffTick >= 0) {
      this.idleSweepAtMs = nowMs;
      this.idleSweepTick = this.tick;
    }
    this.lastSweepTick = this.tick;
    return eviction;
  }
}
