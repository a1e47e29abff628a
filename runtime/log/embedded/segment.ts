/**
 * One segment: an append-only file of record frames, named by the offset of its first record
 * (`00000000000000000042.log`), with its sparse index in memory.
 *
 * A segment only knows bytes and frames. Which bytes are durable or visible to readers is decided by
 * its partition, which moves `visibleBytes` forward after the policy's fsync.
 *
 * Zeros ahead: the active segment's file is written with zeros up to `PREPARE_BYTES` past its
 * last frame, a chunk at a time, and frames overwrite them. An append that grows the file makes
 * its fdatasync commit the file's new size to the filesystem journal as well as flush the data;
 * over bytes already written, it only flushes the data. On this VM that made a lone fdatasync
 * 0.18 → 0.13 ms and three at once (partitions flushing together) 0.43 → 0.26 ms. Smaller
 * chunks grow the file more often; larger ones make the fsync that flushes them slower
 * (docs/embedded-log.md has the figures). A sealed segment is cut back to its last frame; after a
 * crash, zeros where a frame would start are the file's clean end (see `recover`), never damage.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { setBounded } from "../../bounded-map.ts";
import type { StoredRecord } from "../log.ts";
import {
  checkFrame,
  decodeFrame,
  FRAME_CORRUPT,
  FRAME_INCOMPLETE,
  FRAME_PREFIX_BYTES,
  frameOffset,
  LogCorruptError,
} from "./record-codec.ts";
import { SegmentIndex } from "./segment-index.ts";
import type { TailCache } from "./tail-cache.ts";

/** Suffix of segment files. */
export const SEGMENT_SUFFIX = ".log";
/** Read ends remembered per segment: a few per consumer group reading the partition. */
const READ_ENDS_MAX = 64;

/** Bytes read at a time when scanning a segment on open. */
const SCAN_CHUNK_BYTES = 4 << 20;
/** Zeros written ahead of the active segment's last frame, a chunk at a time (see above). */
const PREPARE_BYTES = 256 << 10;
const ZEROS = new Uint8Array(PREPARE_BYTES);
const OFFSET_DIGITS = 20;

/** File name of the segment whose first offset is `baseOffset`. */
export function segmentFileName(baseOffset: number): string {
  return `${String(baseOffset).padStart(OFFSET_DIGITS, "0")}${SEGMENT_SUFFIX}`;
}

/** Base offset encoded in a segment file name, or null when the name is not a segment's. */
export function parseSegmentFileName(name: string): number | null {
  if (!name.endsWith(SEGMENT_SUFFIX)) return null;
  const digits = name.slice(0, -SEGMENT_SUFFIX.length);
  if (digits.length !== OFFSET_DIGITS || !/^\d+$/.test(digits)) return null;
  const offset = Number(digits);
  return Number.isSafeInteger(offset) ? offset : null;
}

/** What scanning a segment on open found. */
export interface SegmentScan {
  segment: Segment;
  /** Bytes cut off the end because they were not whole, valid frames (0 when the file was clean). */
  truncatedBytes: number;
}

export class Segment {
  readonly baseOffset: number;
  readonly path: string;
  /** Open file descriptor, or null while a sealed segment is not being read. */
  private fd: number | null;
  /** Bytes of frames in the file. */
  sizeBytes: number;
  /** Length of the file: the frames, then zeros written ahead of the next ones. */
  private preparedBytes: number;
  /** Bytes readers may see; the partition moves it after the durability policy is met. */
  visibleBytes: number;
  /** Offset the next record appended here would get (one past the last record). */
  nextOffset: number;
  /** Wall-clock time of the last append (file mtime after a reopen); drives age retention. */
  lastAppendMs: number;
  /** True while an fsync of this file is in flight: its descriptor must stay open. */
  syncing = false;
  private readonly index: SegmentIndex;
  /**
   * Where recent reads ended: offset → byte position of the first frame with an offset at or
   * after it. A consumer's next read starts where its last one ended, so it starts there instead
   * of at the sparse index's entry up to 4 KiB before, which it would read (a fresh buffer) and
   * skip: at the tail, with a few records per read, that was a third of the bytes a read
   * allocated. Valid for good, since frames are only appended; bounded, oldest dropped first.
   */
  private readonly readEnds = new Map<number, number>();
  /** The bytes last appended, while this is its partition's active segment (tail-cache.ts). */
  private tail: TailCache | null = null;

  private constructor(
    filePath: string,
    baseOffset: number,
    fd: number,
    sizeBytes: number,
    nextOffset: number,
    lastAppendMs: number,
    index: SegmentIndex,
  ) {
    this.path = filePath;
    this.baseOffset = baseOffset;
    this.fd = fd;
    this.sizeBytes = sizeBytes;
    this.preparedBytes = sizeBytes;
    this.visibleBytes = sizeBytes;
    this.nextOffset = nextOffset;
    this.lastAppendMs = lastAppendMs;
    this.index = index;
  }

  /** Creates an empty segment file; fails if one with that base offset exists. */
  static create(dir: string, baseOffset: number, nowMs: number): Segment {
    const filePath = path.join(dir, segmentFileName(baseOffset));
    const fd = fs.openSync(filePath, "wx+");
    return new Segment(filePath, baseOffset, fd, 0, baseOffset, nowMs, new SegmentIndex());
  }

  /**
   * Opens an existing segment and scans it: rebuilds the index and finds its last offset. The scan
   * stops at the first frame that is torn, corrupt or out of order (offsets must increase and be
   * ≥ `minOffset`), and the file is truncated there: what follows cannot be trusted. When all
   * that follows is zeros, it is the zeros written ahead of the next frame (a crash before a
   * sealed segment was cut back, or any stop of the active one): the file is cut there too, but
   * nothing is reported lost.
   *
   * @param verifyCrc check every frame's CRC (done for the tail segment, where a crash can tear a
   *   write; sealed segments were fsynced whole, and their CRC is checked as they are read)
   */
  static recover(
    dir: string,
    baseOffset: number,
    minOffset: number,
    verifyCrc: boolean,
  ): SegmentScan {
    const filePath = path.join(dir, segmentFileName(baseOffset));
    const fd = fs.openSync(filePath, "r+");
    try {
      const stat = fs.fstatSync(fd);
      const fileBytes = stat.size;
      const index = new SegmentIndex();
      let buffer = new Uint8Array(Math.min(SCAN_CHUNK_BYTES, Math.max(fileBytes, 1)));
      let view = new DataView(buffer.buffer);
      let position = 0;
      let nextOffset = Math.max(baseOffset, minOffset);
      let damaged = false;
      while (position < fileBytes && !damaged) {
        const chunkBytes = readFully(
          fd,
          buffer,
          position,
          Math.min(buffer.length, fileBytes - position),
        );
        const chunkIsTail = position + chunkBytes >= fileBytes;
        let cursor = 0;
        while (cursor < chunkBytes) {
          const frameBytes = checkFrame(buffer, view, cursor, chunkBytes, verifyCrc);
          if (frameBytes === FRAME_INCOMPLETE) {
            if (chunkIsTail) damaged = true;
            else if (cursor === 0) {
              // A frame larger than the buffer: its length was checked against the frame limit.
              const wanted = view.getUint32(0, true) + FRAME_PREFIX_BYTES;
              buffer = new Uint8Array(wanted);
              view = new DataView(buffer.buffer);
            }
            break;
          }
          if (frameBytes === FRAME_CORRUPT) {
            damaged = true;
            break;
          }
          const offset = frameOffset(view, cursor);
          if (offset < nextOffset) {
            damaged = true;
            break;
          }
          index.add(offset, position + cursor);
          nextOffset = offset + 1;
          cursor += frameBytes;
        }
        position += cursor;
      }
      const cutBytes = fileBytes - position;
      const truncatedBytes = cutBytes > 0 && !allZeros(fd, position, fileBytes) ? cutBytes : 0;
      if (cutBytes > 0) {
        fs.ftruncateSync(fd, position);
        fs.fsyncSync(fd);
      }
      const segment = new Segment(
        filePath,
        baseOffset,
        fd,
        position,
        nextOffset,
        stat.mtimeMs,
        index,
      );
      return { segment, truncatedBytes };
    } catch (error) {
      fs.closeSync(fd);
      throw error;
    }
  }

  /**
   * Calls `visit` for every visible frame in file order, reading in bounded chunks. `buffer` and
   * `view` are reused between chunks: copy what you keep. Used by compaction, off the read path.
   */
  forEachFrame(
    visit: (buffer: Uint8Array, view: DataView, position: number, frameBytes: number) => void,
  ): void {
    const limit = this.visibleBytes;
    let buffer = new Uint8Array(Math.min(SCAN_CHUNK_BYTES, Math.max(limit, FRAME_PREFIX_BYTES)));
    let view = new DataView(buffer.buffer);
    let position = 0;
    while (position < limit) {
      const chunkBytes = readFully(
        this.openFd(),
        buffer,
        position,
        Math.min(buffer.length, limit - position),
      );
      let cursor = 0;
      while (cursor < chunkBytes) {
        const frameBytes = checkFrame(buffer, view, cursor, chunkBytes, true);
        if (frameBytes === FRAME_CORRUPT) throw this.corruptAt(position + cursor);
        if (frameBytes === FRAME_INCOMPLETE) break;
        visit(buffer, view, cursor, frameBytes);
        cursor += frameBytes;
      }
      if (cursor === 0) {
        // The frame is larger than the buffer (its length passed the frame limit check).
        if (chunkBytes < FRAME_PREFIX_BYTES) throw this.corruptAt(position);
        const frameBytes = view.getUint32(0, true) + FRAME_PREFIX_BYTES;
        if (frameBytes > limit - position) throw this.corruptAt(position);
        buffer = new Uint8Array(frameBytes);
        view = new DataView(buffer.buffer);
        continue;
      }
      position += cursor;
    }
  }

  /** Keeps what is appended from now on in `cache` too, for reads of it to copy. */
  attachTail(cache: TailCache): void {
    cache.reset(this.sizeBytes);
    this.tail = cache;
  }

  /** Stops keeping appends in the tail cache (the segment is sealed); returns the cache. */
  detachTail(): TailCache | null {
    const cache = this.tail;
    this.tail = null;
    return cache;
  }

  /** True when the segment holds no record. */
  get isEmpty(): boolean {
    return this.sizeBytes === 0;
  }

  /**
   * Writes an encoded batch after the last frame in one write. `framePositions[i]` is where frame
   * `i` starts in `bytes`; frame `i` holds offset `firstOffset + i`. Zeros are written ahead up to
   * `segmentBytes` at most (the size past which the partition rolls to a new segment).
   */
  append(
    bytes: Uint8Array,
    framePositions: Int32Array,
    frameCount: number,
    firstOffset: number,
    nowMs: number,
    segmentBytes: number,
  ): void {
    const fd = this.openFd();
    try {
      const end = this.sizeBytes + bytes.length;
      if (end > this.preparedBytes) this.prepare(fd, end, segmentBytes);
      writeFully(fd, bytes, this.sizeBytes);
      this.tail?.wrote(bytes, this.sizeBytes);
    } catch (error) {
      // Leave no partial batch behind, so the file stays a sequence of whole frames.
      fs.ftruncateSync(fd, this.sizeBytes);
      this.preparedBytes = this.sizeBytes;
      throw error;
    }
    for (let i = 0; i < frameCount; i++) {
      this.index.add(firstOffset + i, this.sizeBytes + (framePositions[i] as number));
    }
    this.sizeBytes += bytes.length;
    this.nextOffset = firstOffset + frameCount;
    this.lastAppendMs = nowMs;
  }

  /**
   * Appends to `out` the visible records with offset ≥ `fromOffset`, until `out` holds `outMax`
   * records, about `bytesMax` bytes were read, or the segment's visible bytes end. Each read buffer
   * is at most `readBytesMax` (or one frame) and is fresh, because the records returned are views
   * into it. Returns the bytes read.
   */
  read(
    fromOffset: number,
    out: StoredRecord[],
    outMax: number,
    bytesMax: number,
    verifyCrc: boolean,
    readBytesMax: number,
    limit: number = this.visibleBytes,
  ): number {
    let position = this.readEnds.get(fromOffset) ?? this.index.floorPosition(fromOffset);
    const recordsBefore = out.length;
    let bytesRead = 0;
    // Raised when the last chunk ended inside its first frame: the next read takes that frame whole.
    let chunkBytesMin = 1;
    while (out.length < outMax && position < limit && bytesRead < bytesMax) {
      const nextWanted = Math.max(fromOffset, lastOffsetOf(out) + 1) + (outMax - out.length);
      const wantedEnd = this.index.ceilPosition(nextWanted, limit);
      const chunkBytes = Math.min(
        Math.max(wantedEnd - position, chunkBytesMin, FRAME_PREFIX_BYTES),
        Math.max(readBytesMax, chunkBytesMin),
        limit - position,
      );
      const buffer = readBuffer(chunkBytes);
      if (!this.tail?.read(buffer, position, chunkBytes)) {
        readFully(this.openFd(), buffer, position, chunkBytes);
      }
      const view = new DataView(buffer.buffer, buffer.byteOffset, chunkBytes);
      let cursor = 0;
      while (cursor < chunkBytes && out.length < outMax) {
        const frameBytes = checkFrame(buffer, view, cursor, chunkBytes, verifyCrc);
        if (frameBytes === FRAME_INCOMPLETE) break;
        if (frameBytes === FRAME_CORRUPT) throw this.corruptAt(position + cursor);
        if (frameOffset(view, cursor) >= fromOffset) out.push(decodeFrame(buffer, view, cursor));
        cursor += frameBytes;
      }
      if (cursor === 0 && out.length < outMax) {
        // Visible bytes always end on a frame boundary, so a first frame that does not fit in
        // what is left is damage, not a short read.
        if (chunkBytes < FRAME_PREFIX_BYTES) throw this.corruptAt(position);
        const frameBytes = view.getUint32(0, true) + FRAME_PREFIX_BYTES;
        if (frameBytes > limit - position || frameBytes <= chunkBytes)
          throw this.corruptAt(position);
        chunkBytesMin = frameBytes;
        continue;
      }
      chunkBytesMin = 1;
      position += cursor;
      bytesRead += cursor;
    }
    if (out.length > recordsBefore) {
      setBounded(this.readEnds, lastOffsetOf(out) + 1, position, READ_ENDS_MAX);
    }
    return bytesRead;
  }

  /** Writes zeros from the file's end to `end`, and a chunk further within the segment's size. */
  private prepare(fd: number, end: number, segmentBytes: number): void {
    const target = Math.max(end, Math.min(this.sizeBytes + PREPARE_BYTES, segmentBytes));
    while (this.preparedBytes < target) {
      const bytes = Math.min(ZEROS.length, target - this.preparedBytes);
      writeFully(fd, ZEROS.subarray(0, bytes), this.preparedBytes);
      this.preparedBytes += bytes;
    }
  }

  /** Cuts the zeros written ahead off the file: the segment is sealed, no frame will follow. */
  trimPrepared(): void {
    if (this.preparedBytes === this.sizeBytes) return;
    fs.ftruncateSync(this.openFd(), this.sizeBytes);
    this.preparedBytes = this.sizeBytes;
  }

  private corruptAt(position: number): LogCorruptError {
    return new LogCorruptError(
      `${this.path}: the frame at byte ${position} is corrupt (bad length, layout or CRC); ` +
        "restore the file, or delete this segment and the ones after it to drop those records",
    );
  }

  /** Flushes the file's data (and its size) to disk, blocking. */
  syncNow(): void {
    if (this.fd !== null) fs.fdatasyncSync(this.fd);
  }

  /** Flushes the file's data (and its size) to disk on the I/O thread pool. */
  sync(): Promise<void> {
    const fd = this.fd;
    if (fd === null) return Promise.resolve();
    return new Promise((resolve, reject) => {
      fs.fdatasync(fd, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** Closes the descriptor until the next read reopens it; a sealed segment needs none at rest. */
  release(): void {
    if (this.fd === null || this.syncing) return;
    fs.closeSync(this.fd);
    this.fd = null;
  }

  /** True while the file descriptor is open. */
  get isOpen(): boolean {
    return this.fd !== null;
  }

  /** Closes and deletes the file. */
  remove(): void {
    this.release();
    fs.rmSync(this.path, { force: true });
  }

  private openFd(): number {
    if (this.fd === null) this.fd = fs.openSync(this.path, "r+");
    return this.fd;
  }
}

function lastOffsetOf(records: StoredRecord[]): number {
  const last = records[records.length - 1];
  return last === undefined ? -1 : last.offset;
}

/**
 * A buffer for `bytes` that is not zero-filled (it is read into at once) and not from Buffer's
 * shared pool, so the records returned as views keep only their own buffer alive. A plain
 * Uint8Array, so record keys and values are plain Uint8Arrays too.
 */
function readBuffer(bytes: number): Uint8Array {
  const buffer = Buffer.allocUnsafeSlow(bytes);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, bytes);
}

/** True when the file holds only zero bytes from `from` to `to`. */
function allZeros(fd: number, from: number, to: number): boolean {
  const chunk = new Uint8Array(Math.min(SCAN_CHUNK_BYTES, to - from));
  for (let position = from; position < to; position += chunk.length) {
    const bytes = readFully(fd, chunk, position, Math.min(chunk.length, to - position));
    for (let i = 0; i < bytes; i++) if (chunk[i] !== 0) return false;
  }
  return true;
}

function readFully(fd: number, buffer: Uint8Array, position: number, length: number): number {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buffer, done, length - done, position + done);
    if (n === 0) {
      throw new LogCorruptError(
        `segment file ended at byte ${position + done}, ${length - done} bytes before the data it indexes`,
      );
    }
    done += n;
  }
  return done;
}

function writeFully(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length) {
    done += fs.writeSync(fd, bytes, done, bytes.length - done, position + done);
  }
}
