/**
 * The transactions a shard applied without scoring them (no champion yet), so that their labels
 * count as `unscored` rather than `unmatched`: on a first start the simulator writes 30 days of
 * history before any champion exists, and the ~225k labels of those days used to look like a
 * broken join on the dashboards.
 *
 * A Bloom filter in two generations: ids go into the current one; once it holds `capacity` ids
 * it becomes the previous one and a cleared one takes its place. So the most recent `capacity` to
 * `2 × capacity` unscored ids are remembered in a fixed 2 × `bits` / 8 bytes (nothing for the
 * collector to trace), allocated at the first id (a platform that always had a champion pays
 * nothing). A false positive counts an unmatched label as unscored: with the defaults, at most
 * ~1 in 1,000 of a full generation's lookups (7 probes, 4 Mi bits, 250k ids).
 *
 * Kept across restarts in a file of the shard's state folder (`toBytes`/`fromBytes`, written at
 * a checkpoint only when ids were added since the last one, so only while no champion serves):
 * the simulator delivers a restarted world's owed labels (simulator/pending-labels.ts), and those
 * of a first start's history would otherwise count as unmatched.
 */
import { hash32, hash32b } from "./hash.ts";

export interface UnscoredTransactionsOptions {
  /** Ids per generation (default 250,000). */
  capacity?: number;
  /** Bits per generation, a power of two (default 2^22: 512 KiB). */
  bits?: number;
}

const PROBES = 7;
/** `toBytes` layout: magic, format, capacity, bits, ids in the current generation, generations. */
const MAGIC = 0x434f5553; // "COUS"
const FORMAT = 1;
const HEADER_WORDS = 6;

export class UnscoredTransactions {
  private readonly capacity: number;
  private readonly mask: number;
  private current: Uint32Array | null = null;
  private previous: Uint32Array | null = null;
  private added = 0;
  /** Ids were added since the last `toBytes`. */
  dirty = false;

  constructor(options: UnscoredTransactionsOptions = {}) {
    this.capacity = options.capacity ?? 250_000;
    const bits = options.bits ?? 2 ** 22;
    if (!Number.isInteger(Math.log2(bits)) || bits < 32) {
      throw new RangeError(`bits ${bits}; expected a power of two of at least 32`);
    }
    if (!(this.capacity >= 1)) throw new RangeError(`capacity ${this.capacity}; expected >= 1`);
    this.mask = bits - 1;
  }

  add(transactionId: string): void {
    if (this.current === null || this.added >= this.capacity) {
      this.previous = this.current;
      this.current = new Uint32Array((this.mask + 1) / 32);
      this.added = 0;
    }
    const a = hash32(transactionId);
    const b = hash32b(transactionId) | 1;
    const words = this.current;
    for (let i = 0; i < PROBES; i++) {
      const bit = (a + Math.imul(i, b)) & this.mask;
      words[bit >>> 5] = (words[bit >>> 5] as number) | (1 << (bit & 31));
    }
    this.added++;
    this.dirty = true;
  }

  /** Both generations as bytes (clears `dirty`); null when nothing was ever added. */
  toBytes(): Uint8Array | null {
    this.dirty = false;
    if (this.current === null) return null;
    const words = this.current.length;
    const generations = this.previous === null ? 1 : 2;
    const out = new Uint32Array(HEADER_WORDS + generations * words);
    out.set([MAGIC, FORMAT, this.capacity, this.mask + 1, this.added, generations]);
    out.set(this.current, HEADER_WORDS);
    if (this.previous !== null) out.set(this.previous, HEADER_WORDS + words);
    return new Uint8Array(out.buffer);
  }

  /**
   * What `toBytes` wrote, into this empty set (same capacity and bits). Returns false, keeping the
   * set empty, for bytes of another size or format (a file cut short, another build's).
   */
  fromBytes(bytes: Uint8Array): boolean {
    if (bytes.byteLength % 4 !== 0 || bytes.byteLength < HEADER_WORDS * 4) return false;
    const all = new Uint32Array(bytes.slice().buffer);
    const [magic, format, capacity, bits, added, generations] = all;
    const words = (this.mask + 1) / 32;
    if (
      magic !== MAGIC ||
      format !== FORMAT ||
      capacity !== this.capacity ||
      bits !== this.mask + 1 ||
      (generations !== 1 && generations !== 2) ||
      all.length !== HEADER_WORDS + generations * words
    ) {
      return false;
    }
    this.current = all.slice(HEADER_WORDS, HEADER_WORDS + words);
    this.previous = generations === 2 ? all.slice(HEADER_WORDS + words) : null;
    this.added = added as number;
    this.dirty = false;
    return true;
  }

  /** Whether the id was added (or, rarely, a false positive; see above). */
  has(transactionId: string): boolean {
    if (this.current === null) return false;
    const a = hash32(transactionId);
    const b = hash32b(transactionId) | 1;
    return this.contains(this.current, a, b) || this.contains(this.previous, a, b);
  }

  private contains(words: Uint32Array | null, a: number, b: number): boolean {
    if (words === null) return false;
    for (let i = 0; i < PROBES; i++) {
      const bit = (a + Math.imul(i, b)) & this.mask;
      if (((words[bit >>> 5] as number) & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}
