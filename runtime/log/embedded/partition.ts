/**
 * One partition of the embedded log: a folder of segments, the offsets they hold, the durability
 * policy (which bytes are fsynced, and which readers may see), retention, and the wake-up of readers
 * waiting for new records.
 *
 * Readers see a record only once it is as durable as the policy promises: with `always`, after the
 * fsync that also resolves its append. A consumer that processed a record and checkpointed its
 * offset can therefore never find that record gone after a power cut (as Kafka consumers only see
 * records up to the high watermark). The exception is a replayable topic's partition (`TopicSpec`):
 * its records are derived outputs that a replay writes again, so readers see them once written,
 * while `whenVisible` and the append still wait for the fsync.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { CoelhoError, ValidationError } from "../../errors.ts";
import type { LogRecord, StoredRecord } from "../log.ts";
import { syncDirectory, TEMP_SUFFIX } from "./atomic-file.ts";
import { latestOffsets, rewriteSegment } from "./compaction.ts";
import type { BatchEncoder } from "./record-codec.ts";
import { parseSegmentFileName, Segment, segmentFileName } from "./segment.ts";
import { TailCache } from "./tail-cache.ts";

/** When an append is fsynced; see docs/embedded-log.md. */
export type FsyncPolicy = "always" | "interval" | "never";

/** Old segments are deleted when either bound is exceeded; an absent bound is no bound. */
export interface RetentionPolicy {
  /** Most bytes a partition keeps (whole segments are deleted, oldest first). */
  maxBytes?: number;
  /** A segment is deleted once its last append is older than this. */
  maxAgeMs?: number;
}

export interface PartitionConfig {
  /** The partition's folder. */
  dir: string;
  /** `topic/partition`, for error messages. */
  name: string;
  fsync: FsyncPolicy;
  /** A segment is sealed and a new one started once an append would take it past this size. */
  segmentBytes: number;
  /** Null keeps every segment (compacted topics). */
  retention: RetentionPolicy | null;
  /** Keep only the latest record per key in sealed segments (see compaction.ts). */
  compacted: boolean;
  /**
   * Records are outputs a replay writes again (`TopicSpec.replayable`): readers see them once
   * written, before their fsync; `whenVisible` still waits for it.
   */
  replayable: boolean;
  /** Check each record's CRC as it is read. */
  verifyReads: boolean;
  /** Largest single read from a segment file. */
  readBytesMax: number;
  /** A read stops after about this many bytes, even below its record limit. */
  fetchBytesMax: number;
  /** Bytes last appended kept in memory for reads (tail-cache.ts); 0 keeps none. */
  tailCacheBytes: number;
}

/** What opening the partition repaired. */
export interface PartitionRecovery {
  /** Bytes of torn or corrupt frames cut off the end of segments. */
  truncatedBytes: number;
  /** Segment files deleted because they followed a damaged one. */
  removedSegments: string[];
}

/** An fsync failed: what was written since the last good fsync may be lost, so appends stop. */
export class LogFailedError extends CoelhoError {
  constructor(name: string, cause: unknown) {
    super(
      "log_failed",
      `${name}: fsync failed (${String((cause as Error)?.message ?? cause)}); the partition refuses ` +
        "appends until the log is reopened, which rechecks the files",
      { cause },
    );
  }
}

/** Most encoded bytes in one append: it is one write of one buffer. */
export const APPEND_BYTES_MAX = 64 << 20;

const RESOLVED = Promise.resolve();

export class Partition {
  readonly config: PartitionConfig;
  readonly recovery: PartitionRecovery;
  /** Segments, oldest first; the last one is the active one appended to. Never empty. */
  private readonly segments: Segment[];
  /** Offset the next appended record gets. */
  nextOffset: number;
  /**
   * Records below this offset are visible to readers: durable as the policy promises, or, in a
   * replayable partition, written.
   */
  visibleEndOffset: number;
  /** Records below this offset are as durable as the policy promises (what `whenVisible` waits for). */
  private durableEndOffset: number;
  private totalBytes: number;
  /** Segments written since their last fsync. */
  private readonly dirty = new Set<Segment>();
  private flushRunning: Promise<void> | null = null;
  private flushQueued: Promise<void> | null = null;
  /** The sealed segment whose descriptor is kept open for sequential reads. */
  private readSegment: Segment | null = null;
  private readonly waiters = new Set<() => void>();
  /** Called at the next append, fsynced or not (readers ahead of the fsync). */
  private readonly writtenWaiters = new Set<() => void>();
  /** `whenVisible` calls still waiting, each with the offset it waits for. */
  private visibleWaits: { offset: number; resolve: () => void; reject: (e: unknown) => void }[] =
    [];
  private failure: LogFailedError | null = null;
  /** Bytes of sealed segments as the last compaction left them; the rest is uncompacted. */
  private compactedBytes = 0;
  /** Created at the first append, attached to the active segment from then on. */
  private tailCache: TailCache | null = null;

  private constructor(config: PartitionConfig, segments: Segment[], recovery: PartitionRecovery) {
    this.config = config;
    this.segments = segments;
    this.recovery = recovery;
    this.nextOffset = this.active.nextOffset;
    this.visibleEndOffset = this.nextOffset;
    this.durableEndOffset = this.nextOffset;
    this.totalBytes = segments.reduce((sum, segment) => sum + segment.sizeBytes, 0);
  }

  /**
   * Opens the partition folder (creating it if absent) and recovers it: every segment is scanned,
   * the first torn or corrupt frame and everything after it (later segments included) is removed,
   * so the partition is a clean prefix of what was written.
   */
  static open(config: PartitionConfig, nowMs: number): Partition {
    fs.mkdirSync(config.dir, { recursive: true });
    const bases: number[] = [];
    for (const name of fs.readdirSync(config.dir)) {
      const base = parseSegmentFileName(name);
      if (base !== null) bases.push(base);
      else if (name.endsWith(TEMP_SUFFIX)) fs.rmSync(path.join(config.dir, name), { force: true });
    }
    bases.sort((a, b) => a - b);
    const recovery: PartitionRecovery = { truncatedBytes: 0, removedSegments: [] };
    const segments: Segment[] = [];
    let nextOffset = 0;
    let damaged = false;
    for (let i = 0; i < bases.length; i++) {
      const base = bases[i] as number;
      const isLast = i === bases.length - 1;
      if (damaged || base < nextOffset) {
        // After a damaged segment (or overlapping one) offsets can no longer be trusted.
        damaged = true;
        const removed = path.join(config.dir, segmentFileName(base));
        fs.rmSync(removed, { force: true });
        recovery.removedSegments.push(removed);
        continue;
      }
      const scan = Segment.recover(config.dir, base, nextOffset, isLast);
      recovery.truncatedBytes += scan.truncatedBytes;
      if (scan.truncatedBytes > 0) damaged = true;
      segments.push(scan.segment);
      nextOffset = scan.segment.nextOffset;
    }
    if (segments.length === 0) {
      segments.push(Segment.create(config.dir, 0, nowMs));
      if (config.fsync !== "never") syncDirectory(config.dir);
    }
    if (recovery.removedSegments.length > 0 && config.fsync !== "never") {
      syncDirectory(config.dir);
    }
    // Only the active segment keeps its descriptor at rest.
    for (let i = 0; i < segments.length - 1; i++) segments[i]?.release();
    return new Partition(config, segments, recovery);
  }

  /** The segment appended to. */
  private get active(): Segment {
    return this.segments[this.segments.length - 1] as Segment;
  }

  /** Oldest offset still retained. */
  get startOffset(): number {
    return (this.segments[0] as Segment).baseOffset;
  }

  /** Bytes of all segments. */
  get sizeBytes(): number {
    return this.totalBytes;
  }

  /** Number of segment files. */
  get segmentCount(): number {
    return this.segments.length;
  }

  /**
   * Encodes and writes `records` in one write. Returns the first offset at once, and `durable`,
   * which resolves once the records are as durable as the policy promises and visible to readers.
   */
  append(
    records: readonly LogRecord[],
    encoder: BatchEncoder,
    nowMs: number,
  ): { firstOffset: number; durable: Promise<void> } {
    if (this.failure) throw this.failure;
    const firstOffset = this.nextOffset;
    if (records.length === 0) return { firstOffset, durable: RESOLVED };
    const bytes = encoder.encode(records, firstOffset, nowMs);
    if (bytes.length > APPEND_BYTES_MAX) {
      throw new ValidationError(
        "records",
        `encode to ${bytes.length} bytes in one append; expected at most ${APPEND_BYTES_MAX}, split the batch`,
      );
    }
    let active = this.active;
    let rolled = false;
    if (!active.isEmpty && active.sizeBytes + bytes.length > this.config.segmentBytes) {
      active = this.roll(nowMs);
      rolled = true;
    }
    if (this.tailCache === null && this.config.tailCacheBytes > 0) {
      // Allocated at the first append: a partition only read (or never used) holds none.
      this.tailCache = new TailCache(this.config.tailCacheBytes);
      active.attachTail(this.tailCache);
    }
    active.append(
      bytes,
      encoder.framePositions,
      records.length,
      firstOffset,
      nowMs,
      this.config.segmentBytes,
    );
    this.nextOffset = firstOffset + records.length;
    this.totalBytes += bytes.length;
    this.dirty.add(active);
    callOnce(this.writtenWaiters);
    if (this.config.fsync !== "always") {
      active.visibleBytes = active.sizeBytes;
      this.advanceDurable(this.nextOffset);
    } else if (this.config.replayable) {
      // Shown before its fsync: a power cut may take it, and the replay writes it again.
      active.visibleBytes = active.sizeBytes;
      this.advanceVisible(this.nextOffset);
    }
    if (rolled) this.enforceRetention(nowMs);
    return { firstOffset, durable: this.config.fsync === "always" ? this.flush() : RESOLVED };
  }

  /**
   * Visible records from `fromOffset` (clamped up to the start), at most `maxRecords` of them and
   * about `fetchBytesMax` bytes; with `aheadOfFsync`, every written record (for a reader that
   * holds back what it derives until `whenVisible`). Keys and values are views into a fresh read
   * buffer: copy one that you keep for long, or it keeps the whole buffer alive.
   */
  read(fromOffset: number, maxRecords: number, aheadOfFsync = false): StoredRecord[] {
    const out: StoredRecord[] = [];
    const offset = Math.max(fromOffset, this.startOffset);
    const endOffset = aheadOfFsync ? this.nextOffset : this.visibleEndOffset;
    if (offset >= endOffset || maxRecords <= 0) return out;
    const { verifyReads, readBytesMax, fetchBytesMax } = this.config;
    let bytesRead = 0;
    for (let i = this.segmentIndexOf(offset); i < this.segments.length; i++) {
      const segment = this.segments[i] as Segment;
      if (segment.baseOffset >= endOffset) break;
      this.useForRead(segment);
      const bytesLeft = fetchBytesMax - bytesRead;
      const limit = aheadOfFsync ? segment.sizeBytes : segment.visibleBytes;
      bytesRead += segment.read(
        offset,
        out,
        maxRecords,
        bytesLeft,
        verifyReads,
        readBytesMax,
        limit,
      );
      if (out.length >= maxRecords || bytesRead >= fetchBytesMax) break;
    }
    return out;
  }

  /**
   * Calls `callback` once, the next time records become visible. Returns a function that cancels
   * the wait. This is how consumers wait at the end of the log without polling.
   */
  onVisible(callback: () => void): () => void {
    this.waiters.add(callback);
    return () => this.waiters.delete(callback);
  }

  /** Calls `callback` once, at the next append (before its fsync). Returns a cancel function. */
  onWritten(callback: () => void): () => void {
    this.writtenWaiters.add(callback);
    return () => this.writtenWaiters.delete(callback);
  }

  /**
   * Resolves once the records below `offset` are durable as the policy promises (and visible);
   * rejects if the fsync fails. Pass an offset already written: the wait ends with that record's
   * fsync.
   */
  whenVisible(offset: number): Promise<void> {
    if (offset <= this.durableEndOffset) return RESOLVED;
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.visibleWaits.push({ offset, resolve, reject }));
  }

  /**
   * Fsyncs every segment written since its last fsync, then makes those records visible. Calls made
   * while an fsync runs share the next one (group commit), so concurrent appends cost one fsync.
   */
  flush(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.flushQueued) return this.flushQueued;
    if (this.flushRunning) {
      const queued = this.flushRunning
        .catch(() => {})
        .then(() => {
          this.flushQueued = null;
          return this.startFlush();
        });
      this.flushQueued = queued;
      return queued;
    }
    if (this.dirty.size === 0) return RESOLVED;
    return this.startFlush();
  }

  /**
   * Deletes the oldest sealed segments while the partition is over its byte budget or they are
   * older than the age limit. The active segment is never deleted. Returns the segments deleted.
   */
  enforceRetention(nowMs: number): number {
    const retention = this.config.retention;
    if (retention === null) return 0;
    const { maxBytes, maxAgeMs } = retention;
    let removed = 0;
    while (this.segments.length > 1) {
      const oldest = this.segments[0] as Segment;
      // An fsync in flight holds its descriptor; the next check deletes it.
      if (oldest.syncing) break;
      const overSize = maxBytes !== undefined && this.totalBytes > maxBytes;
      const overAge = maxAgeMs !== undefined && nowMs - oldest.lastAppendMs > maxAgeMs;
      if (!overSize && !overAge) break;
      this.segments.shift();
      this.dirty.delete(oldest);
      if (this.readSegment === oldest) this.readSegment = null;
      oldest.remove();
      this.totalBytes -= oldest.sizeBytes;
      removed++;
    }
    return removed;
  }

  /**
   * Compacts the sealed segments of a compacted topic's partition: drops every record that a
   * later visible record with the same key supersedes. Unless `force`, only runs once the sealed
   * bytes written since the last compaction are at least a segment and at least as many as it left
   * (Kafka's dirty ratio of 0.5), so the cost stays proportional to what is appended. Returns the
   * segments rewritten or removed.
   */
  compact(force: boolean): number {
    if (!this.config.compacted || this.failure) return 0;
    const sealed = this.segments.slice(0, -1);
    const sealedBytes = sealed.reduce((sum, segment) => sum + segment.sizeBytes, 0);
    const uncompactedBytes = sealedBytes - this.compactedBytes;
    const due =
      uncompactedBytes >= this.config.segmentBytes && uncompactedBytes >= this.compactedBytes;
    if (sealed.length === 0 || (!force && !due)) return 0;
    // A segment waiting for its fsync is not final yet; the next run takes it.
    if (sealed.some((segment) => segment.syncing || this.dirty.has(segment))) return 0;
    const latest = latestOffsets(this.segments);
    if (latest === null) return 0;
    const durable = this.config.fsync !== "never";
    let changed = 0;
    for (let i = 0; i < this.segments.length - 1; i++) {
      const segment = this.segments[i] as Segment;
      if (!rewriteSegment(segment, latest, durable)) continue;
      segment.release();
      if (this.readSegment === segment) this.readSegment = null;
      const minOffset = i === 0 ? 0 : (this.segments[i - 1] as Segment).nextOffset;
      const fresh = Segment.recover(this.config.dir, segment.baseOffset, minOffset, false).segment;
      fresh.release();
      this.segments[i] = fresh;
      this.totalBytes += fresh.sizeBytes - segment.sizeBytes;
      changed++;
    }
    // Sealed segments left empty go: offsets may have gaps, and the start moves to the next one.
    for (let i = this.segments.length - 2; i >= 0; i--) {
      const segment = this.segments[i] as Segment;
      if (!segment.isEmpty) continue;
      this.segments.splice(i, 1);
      segment.remove();
      changed++;
    }
    for (const segment of this.segments.slice(0, -1)) {
      if (segment !== this.readSegment) segment.release();
    }
    this.compactedBytes = this.segments
      .slice(0, -1)
      .reduce((sum, segment) => sum + segment.sizeBytes, 0);
    return changed;
  }

  /** Fsyncs what is pending and closes every file. The partition is unusable afterwards. */
  async close(): Promise<void> {
    if (this.dirty.size > 0 || this.flushRunning) await this.flush();
    // At rest a file ends at its last frame (the next open would cut the zeros anyway).
    this.active.trimPrepared();
    for (const segment of this.segments) segment.release();
    this.waiters.clear();
    this.writtenWaiters.clear();
  }

  private startFlush(): Promise<void> {
    const running: Promise<void> = this.runFlush().finally(() => {
      if (this.flushRunning === running) this.flushRunning = null;
    });
    this.flushRunning = running;
    return running;
  }

  private async runFlush(): Promise<void> {
    // After a failed fsync a later one may "succeed" without the lost pages: never trust it.
    if (this.failure) throw this.failure;
    const segments = [...this.dirty];
    this.dirty.clear();
    const sizes = segments.map((segment) => segment.sizeBytes);
    const nextOffset = this.nextOffset;
    for (const segment of segments) segment.syncing = true;
    try {
      await Promise.all(segments.map((segment) => segment.sync()));
    } catch (error) {
      this.failure ??= new LogFailedError(this.config.name, error);
      for (const wait of this.visibleWaits) wait.reject(this.failure);
      this.visibleWaits = [];
      throw this.failure;
    } finally {
      for (const segment of segments) segment.syncing = false;
    }
    segments.forEach((segment, i) => {
      segment.visibleBytes = Math.max(segment.visibleBytes, sizes[i] as number);
      if (segment !== this.active && segment !== this.readSegment && !this.dirty.has(segment)) {
        segment.release();
      }
    });
    this.advanceDurable(nextOffset);
  }

  /** Seals the active segment and starts a new one at the next offset. */
  private roll(nowMs: number): Segment {
    const sealed = this.active;
    // Sealed segments end at their last frame; a crash before this leaves zeros that recovery
    // recognises as the clean end.
    sealed.trimPrepared();
    const next = Segment.create(this.config.dir, this.nextOffset, nowMs);
    const tail = sealed.detachTail();
    if (tail) next.attachTail(tail);
    // The new file's name must survive a crash along with the records written into it.
    if (this.config.fsync === "always") syncDirectory(this.config.dir);
    this.segments.push(next);
    if (this.config.fsync === "never") {
      // Nothing will fsync it, so it needs no descriptor either.
      this.dirty.delete(sealed);
    } else if (this.config.fsync === "interval" && this.dirty.has(sealed) && !sealed.syncing) {
      // Flush a sealed segment at once (one fsync per segment, as Kafka does on roll) rather than
      // keep its descriptor open until the timer: under load segments can roll faster than it fires.
      sealed.syncNow();
      this.dirty.delete(sealed);
    }
    // A sealed segment keeps its descriptor only until its pending fsync (which releases it).
    if (!this.dirty.has(sealed) && sealed !== this.readSegment) sealed.release();
    return next;
  }

  /** Records below `offset` are as durable as the policy promises, so visible too. */
  private advanceDurable(offset: number): void {
    if (offset > this.durableEndOffset) {
      this.durableEndOffset = offset;
      if (this.visibleWaits.length > 0) {
        const still = [];
        for (const wait of this.visibleWaits) {
          if (wait.offset <= offset) wait.resolve();
          else still.push(wait);
        }
        this.visibleWaits = still;
      }
    }
    this.advanceVisible(offset);
  }

  private advanceVisible(offset: number): void {
    if (offset <= this.visibleEndOffset) return;
    this.visibleEndOffset = offset;
    callOnce(this.waiters);
  }

  /** Keeps one sealed segment's descriptor open for reads, closing the previous one. */
  private useForRead(segment: Segment): void {
    if (segment === this.active || segment === this.readSegment) return;
    const previous = this.readSegment;
    if (previous !== null && previous !== this.active && !this.dirty.has(previous)) {
      previous.release();
    }
    this.readSegment = segment;
  }

  /** Index of the last segment whose base offset is ≤ `offset` (0 if none). */
  private segmentIndexOf(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.segments[mid] as Segment).baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }
}

/** Calls every waiter of `waiters` once and empties it; a waiter may add itself back meanwhile. */
function callOnce(waiters: Set<() => void>): void {
  if (waiters.size === 0) return;
  const called = [...waiters];
  waiters.clear();
  for (const waiter of called) waiter();
}
