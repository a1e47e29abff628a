/**
 * The prediction store's journal: how predictions waiting for their labels survive a restart.
 *
 * A shard's checkpoint holds its cards' states and the input positions they include; a
 * restart replays the input after them. Predictions made before those positions are not made
 * again, so a store kept only in memory lost every one of them: their labels, which come days
 * later, found nothing, and each deploy dropped the training examples of everything scored
 * before it (most of the fraud, whose chargebacks are the slowest labels).
 *
 * So the store writes down each change a replay must repeat (a put with its feature row, a take,
 * event time moved on by a label), and each checkpoint carries what was written since the last
 * one as an entry of the shard's journal, in the checkpoint's own transaction: a restore replays
 * the entries and has the store as it was at the positions, and the input after them does the
 * rest, exactly once.
 *
 * Bounded: an entry is dropped once every prediction it put is gone (the store is in put order,
 * so that is a prefix of the journal). One old prediction still waiting keeps every later entry,
 * though; once the entries kept outweigh twice what the store holds (and a floor), or are too
 * many, the next entry is a snapshot of the store instead, and everything before it is dropped.
 *
 * Entry layout, little-endian: a 48-byte header (format, flags, the ops' length, the store's
 * cut: oldest prediction's number, newest event time, next number; the extra's length, the
 * newest event time when the ops began), the ops, then the processor's extra bytes (fraud: the
 * labels waiting for their transactions).
 */
import type { JournalAppend, JournalEntry } from "../../runtime/shard/entity-model.ts";
import type { PredictionStore, StoreCut } from "./prediction-store.ts";

const FORMAT = 1;
const HEADER_BYTES = 48;
/** The entry is the whole store: a restore starts over from it. */
const FLAG_SNAPSHOT = 1;
const OP_PUT = 1;
const OP_TAKE = 2;
const OP_ADVANCE = 3;
/** A put without its feature row: op, width, number, 3 hashes, 2 versions, 4 float64. */
const PUT_FIXED_BYTES = 1 + 2 + 8 + 12 + 8 + 32;
const INITIAL_BYTES = 64 * 1024;
/** Kept entries may weigh this much before a snapshot, however small the store. */
export const JOURNAL_COMPACT_FLOOR_BYTES = 16 * 1024 * 1024;
/**
 * And be this many: an entry is written with each checkpoint, and one old prediction keeps them
 * all (about 3 h of 1-s checkpoints; each is a row of the checkpoint file and a step of a restore).
 */
export const JOURNAL_COMPACT_ENTRIES = 10_000;

/**
 * A buffer not zero-filled: every byte of an entry is written before it is handed over, and a
 * snapshot's tens of MB zeroed first cost the event loop several ms.
 */
function uninitialized(bytes: number): Uint8Array<ArrayBuffer> {
  const buffer = Buffer.allocUnsafeSlow(bytes);
  return new Uint8Array(buffer.buffer as ArrayBuffer, buffer.byteOffset, bytes);
}

/** The changes one entry writes down, in a growing buffer with its header's room reserved. */
export class PredictionOps {
  private bytes = new Uint8Array(INITIAL_BYTES);
  private view = new DataView(this.bytes.buffer);
  private used = HEADER_BYTES;
  /** The store's newest event time when the ops of this entry began (the last cut's). */
  private startNewestMs = Number.NEGATIVE_INFINITY;
  /** Bytes of the last entry that was not a snapshot. */
  private incrementalBytes = 0;

  /** Bytes of ops written since the last entry was finished. */
  get size(): number {
    return this.used - HEADER_BYTES;
  }

  put(
    serial: number,
    a: number,
    b: number,
    card: number,
    score: number,
    threshold: number,
    amount: number,
    eventTimeMs: number,
    version: number,
    schemaVersion: number,
    features: Float32Array,
    featuresAt: number,
    width: number,
  ): void {
    this.reserve(PUT_FIXED_BYTES + 4 * width);
    const view = this.view;
    let at = this.used;
    view.setUint8(at, OP_PUT);
    view.setUint16(at + 1, width, true);
    view.setFloat64(at + 3, serial, true);
    view.setUint32(at + 11, a, true);
    view.setUint32(at + 15, b, true);
    view.setUint32(at + 19, card, true);
    view.setInt32(at + 23, version, true);
    view.setInt32(at + 27, schemaVersion, true);
    view.setFloat64(at + 31, score, true);
    view.setFloat64(at + 39, threshold, true);
    view.setFloat64(at + 47, amount, true);
    view.setFloat64(at + 55, eventTimeMs, true);
    at += PUT_FIXED_BYTES;
    for (let k = 0; k < width; k++, at += 4) {
      view.setFloat32(at, features[featuresAt + k] as number, true);
    }
    this.used = at;
  }

  take(a: number, b: number): void {
    this.reserve(9);
    this.view.setUint8(this.used, OP_TAKE);
    this.view.setUint32(this.used + 1, a, true);
    this.view.setUint32(this.used + 5, b, true);
    this.used += 9;
  }

  advance(eventTimeMs: number): void {
    this.reserve(9);
    this.view.setUint8(this.used, OP_ADVANCE);
    this.view.setFloat64(this.used + 1, eventTimeMs, true);
    this.used += 9;
  }

  /** Forgets the ops written since the last entry (a snapshot holds what they did). */
  discard(): void {
    this.used = HEADER_BYTES;
  }

  /** Makes room for `bytes` more at once (a snapshot's puts), instead of doubling up to it. */
  expect(bytes: number): void {
    this.reserve(bytes);
  }

  /** After a restore: the next entry's ops begin at the restored store's newest event time. */
  resumeAt(newestEventMs: number): void {
    this.startNewestMs = newestEventMs;
  }

  /**
   * The entry: header, ops and `extra`, in a buffer of its own (it is handed over to the
   * checkpoint writer). The next ops go to a new buffer sized like this one.
   */
  finish(cut: StoreCut, flags: number, extra: Uint8Array): Uint8Array {
    const opsBytes = this.size;
    this.reserve(extra.length);
    this.bytes.set(extra, this.used);
    const view = this.view;
    view.setUint8(0, FORMAT);
    view.setUint8(1, flags);
    view.setUint32(4, opsBytes, true);
    view.setFloat64(8, cut.oldestSerial, true);
    view.setFloat64(16, cut.newestEventMs, true);
    view.setFloat64(24, cut.nextSerial, true);
    view.setUint32(32, extra.length, true);
    // A snapshot is replayed from the cut's event time; other entries from where they began.
    view.setFloat64(36, flags & FLAG_SNAPSHOT ? cut.newestEventMs : this.startNewestMs, true);
    this.startNewestMs = cut.newestEventMs;
    const entry = this.bytes.subarray(0, this.used + extra.length);
    // The next buffer is sized for an entry like the last incremental one (twice it): after a
    // snapshot, one the size of the whole store would be zeroed for nothing.
    if (!(flags & FLAG_SNAPSHOT)) this.incrementalBytes = entry.length;
    this.bytes = uninitialized(Math.max(INITIAL_BYTES, 2 * this.incrementalBytes));
    this.view = new DataView(this.bytes.buffer);
    this.used = HEADER_BYTES;
    return entry;
  }

  private reserve(n: number): void {
    if (this.used + n <= this.bytes.length) return;
    const grown = uninitialized(Math.max(2 * this.bytes.length, this.used + n));
    grown.set(this.bytes.subarray(0, this.used));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }
}

/** An entry's header and where its parts are. */
interface ParsedEntry {
  snapshot: boolean;
  /** The store's newest event time when the entry's ops began. */
  startNewestMs: number;
  cut: StoreCut;
  ops: DataView;
  extra: Uint8Array;
}

function parseEntry(seq: number, bytes: Uint8Array): ParsedEntry {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const broken = (why: string) =>
    new Error(`prediction journal entry ${seq}: ${why}; the shard's checkpoint file is damaged`);
  if (bytes.length < HEADER_BYTES) throw broken(`${bytes.length} bytes, shorter than its header`);
  const format = view.getUint8(0);
  if (format !== FORMAT) {
    throw new Error(
      `prediction journal entry ${seq} has format ${format}; this build reads ${FORMAT}: run a newer coelho-realtime`,
    );
  }
  const opsBytes = view.getUint32(4, true);
  const extraBytes = view.getUint32(32, true);
  if (HEADER_BYTES + opsBytes + extraBytes !== bytes.length) {
    throw broken(
      `${bytes.length} bytes, but its header says ${HEADER_BYTES + opsBytes + extraBytes}`,
    );
  }
  return {
    snapshot: (view.getUint8(1) & FLAG_SNAPSHOT) !== 0,
    startNewestMs: view.getFloat64(36, true),
    cut: {
      oldestSerial: view.getFloat64(8, true),
      newestEventMs: view.getFloat64(16, true),
      nextSerial: view.getFloat64(24, true),
    },
    ops: new DataView(bytes.buffer, bytes.byteOffset + HEADER_BYTES, opsBytes),
    extra: bytes.slice(HEADER_BYTES + opsBytes),
  };
}

/** Repeats an entry's ops on the store. */
function replayOps(seq: number, ops: DataView, store: PredictionStore): void {
  let at = 0;
  let features = new Float32Array(0);
  while (at < ops.byteLength) {
    const op = ops.getUint8(at);
    if (op === OP_PUT) {
      const width = ops.getUint16(at + 1, true);
      if (features.length !== width) features = new Float32Array(width);
      const row = at + PUT_FIXED_BYTES;
      if (row + 4 * width > ops.byteLength) break;
      for (let k = 0; k < width; k++) features[k] = ops.getFloat32(row + 4 * k, true);
      store.putHashed(
        ops.getUint32(at + 11, true),
        ops.getUint32(at + 15, true),
        ops.getUint32(at + 19, true),
        {
          model_version: ops.getInt32(at + 23, true),
          featureSchemaVersion: ops.getInt32(at + 27, true),
          score: ops.getFloat64(at + 31, true),
          threshold: ops.getFloat64(at + 39, true),
          amount: ops.getFloat64(at + 47, true),
          eventTimeMs: ops.getFloat64(at + 55, true),
        },
        features,
        0,
        width,
        ops.getFloat64(at + 3, true),
      );
      at = row + 4 * width;
    } else if (op === OP_TAKE && at + 9 <= ops.byteLength) {
      store.takeHashed(ops.getUint32(at + 1, true), ops.getUint32(at + 5, true));
      at += 9;
    } else if (op === OP_ADVANCE && at + 9 <= ops.byteLength) {
      store.advance(ops.getFloat64(at + 1, true));
      at += 9;
    } else {
      break;
    }
  }
  if (at !== ops.byteLength) {
    throw new Error(
      `prediction journal entry ${seq}: an op at byte ${at} is cut off or unknown; the shard's checkpoint file is damaged`,
    );
  }
}

/**
 * One shard's journal: cuts an entry for each checkpoint from the store's ops, says which
 * earlier entries a restore no longer needs, and restores a store from the entries kept.
 *
 * @example
 * const journal = new PredictionJournal();
 * const store = new PredictionStore({ ops: journal.ops });
 * const entry = journal.cut(store, extra); // with each checkpoint
 * const extra = journal.restore(store, checkpointedEntries); // at a restore
 */
export class PredictionJournal {
  readonly ops = new PredictionOps();
  private seq = 0;
  /** The entries a restore needs, oldest first: seq, last number put up to it, size. */
  private kept: { seq: number; lastSerial: number; bytes: number }[] = [];
  private keptBytes = 0;
  /** Snapshots written (for the metrics and the tests). */
  snapshots = 0;

  constructor(
    private readonly compactFloorBytes = JOURNAL_COMPACT_FLOOR_BYTES,
    private readonly compactEntries = JOURNAL_COMPACT_ENTRIES,
  ) {}

  /** Entries a restore would read now. */
  get entries(): number {
    return this.kept.length;
  }

  /** Bytes of the entries a restore would read now. */
  get bytes(): number {
    return this.keptBytes;
  }

  /** The entry for a checkpoint being cut now; `extra` is the processor's own (copied). */
  cut(store: PredictionStore, extra: Uint8Array): JournalAppend {
    const seq = ++this.seq;
    let flags = 0;
    const dropped: { seq: number; bytes: number }[] = [];
    if (
      this.kept.length >= this.compactEntries ||
      this.keptBytes + this.ops.size > this.compactAtBytes(store)
    ) {
      this.ops.discard();
      this.ops.expect(store.size * (PUT_FIXED_BYTES + 4 * store.featureWidth) + extra.length);
      store.writeAll(this.ops);
      flags = FLAG_SNAPSHOT;
      for (const entry of this.kept) dropped.push({ seq: entry.seq, bytes: entry.bytes });
      this.kept = [];
      this.keptBytes = 0;
      this.snapshots++;
    }
    const cut = store.cut();
    const bytes = this.ops.finish(cut, flags, extra);
    this.keep(seq, cut, bytes.length, dropped);
    return { seq, bytes, keepFrom: (this.kept[0] as { seq: number }).seq, dropped };
  }

  /**
   * Makes `store` (empty, or holding a crashed run's predictions) what the entries say, and
   * returns the last entry's extra bytes (null with no entries).
   */
  restore(store: PredictionStore, entries: Iterable<JournalEntry>): Uint8Array | null {
    this.ops.discard();
    this.kept = [];
    this.keptBytes = 0;
    this.seq = 0;
    store.clear();
    let extra: Uint8Array | null = null;
    let last: StoreCut | null = null;
    store.replay((resumeAt) => {
      let cut: StoreCut | null = null;
      for (const { seq, bytes } of entries) {
        const entry = parseEntry(seq, bytes);
        // From the event time the first entry's ops saw, so they evict what they evicted then.
        if (entry.snapshot) store.clear();
        if (entry.snapshot || cut === null) resumeAt(entry.startNewestMs);
        replayOps(seq, entry.ops, store);
        cut = entry.cut;
        extra = entry.extra;
        this.seq = seq;
        // A snapshot drops what came before it (as when it was written).
        if (entry.snapshot) {
          this.kept = [];
          this.keptBytes = 0;
        }
        this.keep(seq, cut, bytes.length);
      }
      last = cut;
      return cut;
    });
    this.ops.resumeAt((last as StoreCut | null)?.newestEventMs ?? Number.NEGATIVE_INFINITY);
    return extra;
  }

  /**
   * Adds an entry, and drops those before the first one that put a prediction still held (into
   * `dropped`, when given).
   */
  private keep(
    seq: number,
    cut: StoreCut,
    bytes: number,
    dropped?: { seq: number; bytes: number }[],
  ): void {
    this.kept.push({ seq, lastSerial: cut.nextSerial - 1, bytes });
    this.keptBytes += bytes;
    let drop = 0;
    while (
      drop < this.kept.length - 1 &&
      (this.kept[drop] as { lastSerial: number }).lastSerial < cut.oldestSerial
    ) {
      const entry = this.kept[drop] as { seq: number; bytes: number };
      this.keptBytes -= entry.bytes;
      dropped?.push({ seq: entry.seq, bytes: entry.bytes });
      drop++;
    }
    if (drop > 0) this.kept.splice(0, drop);
  }

  /** Twice what a snapshot of the store would weigh, and at least the floor. */
  private compactAtBytes(store: PredictionStore): number {
    const width = store.featureWidth;
    return Math.max(this.compactFloorBytes, 2 * store.size * (PUT_FIXED_BYTES + 4 * width));
  }
}
