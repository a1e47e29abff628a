/**
 * The on-disk frame of one record (see docs/embedded-log.md). All integers are little-endian.
 *
 * ```
 *  0  u32  bodyBytes     bytes after this 8-byte prefix
 *  4  u32  crc32         CRC-32 (IEEE) of the body
 *  8  u8   magic         1 (the frame format version)
 *  9  u8   attributes    0 (reserved)
 * 10  u16  headerCount
 * 12  u32  offset low    \ the record's offset, u64
 * 16  u32  offset high   /
 * 20  u32  timestamp low \ timestampMs, i64
 * 24  i32  timestamp high/
 * 28  i32  keyBytes      -1 for a null key
 * 32  u32  valueBytes
 * 36  key, value, then per header: u16 nameBytes, name, u32 valueBytes, value (UTF-8)
 * ```
 *
 * The length comes first so a scan can skip a frame without decoding it, and a torn tail shows up
 * as a frame that runs past the end of the file. The CRC covers everything after itself, so a torn
 * or overwritten body (or a garbage length) is caught.
 */
import { CoelhoError, ValidationError } from "../../errors.ts";
import type { Headers, LogRecord, StoredRecord } from "../log.ts";

/** Bytes of the length + CRC prefix. */
export const FRAME_PREFIX_BYTES = 8;
/** Bytes of the fixed part of a frame, prefix included. */
export const FRAME_HEADER_BYTES = 36;
/** Frame format version written in every frame. */
export const FRAME_MAGIC = 1;
/** Largest frame (header + key + value + headers) accepted; bounds every read buffer. */
export const FRAME_BYTES_MAX = 16 * 1024 * 1024;
/** Most headers on one record; dead letters carry a handful. */
export const HEADERS_PER_RECORD_MAX = 256;

/** `checkFrame` result: the buffer ends before the frame does (a torn tail if at end of file). */
export const FRAME_INCOMPLETE = -1;
/** `checkFrame` result: the bytes are not a valid frame (bad length, magic, layout or CRC). */
export const FRAME_CORRUPT = -2;

const TWO_POW_32 = 0x1_0000_0000;
const MIN_BODY_BYTES = FRAME_HEADER_BYTES - FRAME_PREFIX_BYTES;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** The log's data is damaged in a way recovery does not repair (a failure, not retriable). */
export class LogCorruptError extends CoelhoError {
  constructor(message: string) {
    super("log_corrupt", message);
  }
}

/**
 * Encodes batches of records into one reusable buffer, so an append is one write of one buffer and
 * costs no allocation per record beyond the CRC view.
 */
export class BatchEncoder {
  private buffer: Uint8Array;
  private view: DataView;
  /** Start of each encoded frame, relative to the batch; read by the caller to index the batch. */
  framePositions: Int32Array;
  /** Largest timestamp in the last encoded batch. */
  maxTimestampMs = 0;
  private readonly retainedBytesMax: number;

  /** @param retainedBytesMax a larger buffer is dropped after use rather than kept for reuse */
  constructor(initialBytes = 1 << 20, retainedBytesMax = 8 << 20) {
    this.buffer = new Uint8Array(initialBytes);
    this.view = new DataView(this.buffer.buffer);
    this.framePositions = new Int32Array(1024);
    this.retainedBytesMax = retainedBytesMax;
  }

  /**
   * Encode `records` with offsets from `firstOffset`. Returns a view of the encoded bytes that stays
   * valid until the next call. Throws a ValidationError naming the record when one is invalid; then
   * nothing was encoded.
   */
  encode(records: readonly LogRecord[], firstOffset: number, appendTimeMs: number): Uint8Array {
    if (this.buffer.length > this.retainedBytesMax) this.reset(this.retainedBytesMax);
    if (this.framePositions.length < records.length) {
      this.framePositions = new Int32Array(
        Math.max(records.length, this.framePositions.length * 2),
      );
    }
    let position = 0;
    let maxTimestampMs = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as LogRecord;
      const { key, value, headers } = record;
      if (!(value instanceof Uint8Array)) {
        throw new ValidationError(`records[${i}].value`, "is not bytes; expected a Uint8Array");
      }
      if (key !== null && !(key instanceof Uint8Array)) {
        throw new ValidationError(
          `records[${i}].key`,
          "is not bytes; expected a Uint8Array or null",
        );
      }
      const timestampMs = record.timestampMs ?? appendTimeMs;
      if (!Number.isSafeInteger(timestampMs)) {
        throw new ValidationError(
          `records[${i}].timestampMs`,
          `${timestampMs} is not a whole number of ms; expected an integer (ms since the epoch)`,
        );
      }
      if (timestampMs > maxTimestampMs) maxTimestampMs = timestampMs;
      const keyBytes = key === null ? 0 : key.length;
      // Upper bound: a UTF-16 code unit takes at most 3 UTF-8 bytes.
      let headerBytesMax = 0;
      let headerCount = 0;
      if (headers !== undefined) {
        for (const name in headers) {
          headerCount++;
          headerBytesMax += 6 + 3 * (name.length + String(headers[name]).length);
        }
        if (headerCount > HEADERS_PER_RECORD_MAX) {
          throw new ValidationError(
            `records[${i}].headers`,
            `has ${headerCount} headers; expected at most ${HEADERS_PER_RECORD_MAX}`,
          );
        }
      }
      if (FRAME_HEADER_BYTES + keyBytes + value.length > FRAME_BYTES_MAX) {
        throw new ValidationError(
          `records[${i}]`,
          `key and value take ${keyBytes + value.length} bytes; expected a frame of at most ${FRAME_BYTES_MAX}`,
        );
      }
      const frameBytesMax = FRAME_HEADER_BYTES + keyBytes + value.length + headerBytesMax;
      this.ensureCapacity(position + frameBytesMax);
      const buffer = this.buffer;
      const view = this.view;
      const start = position;
      view.setUint8(start + 8, FRAME_MAGIC);
      view.setUint8(start + 9, 0);
      view.setUint16(start + 10, headerCount, true);
      const offset = firstOffset + i;
      view.setUint32(start + 12, offset >>> 0, true);
      view.setUint32(start + 16, Math.floor(offset / TWO_POW_32), true);
      view.setUint32(start + 20, timestampMs >>> 0, true);
      view.setInt32(start + 24, Math.floor(timestampMs / TWO_POW_32), true);
      view.setInt32(start + 28, key === null ? -1 : keyBytes, true);
      view.setUint32(start + 32, value.length, true);
      position = start + FRAME_HEADER_BYTES;
      if (key !== null) {
        buffer.set(key, position);
        position += keyBytes;
      }
      buffer.set(value, position);
      position += value.length;
      if (headerCount > 0) position = this.encodeHeaders(headers as Headers, position);
      const bodyBytes = position - start - FRAME_PREFIX_BYTES;
      if (bodyBytes + FRAME_PREFIX_BYTES > FRAME_BYTES_MAX) {
        throw new ValidationError(
          `records[${i}]`,
          `encodes to ${bodyBytes + FRAME_PREFIX_BYTES} bytes; expected at most ${FRAME_BYTES_MAX}`,
        );
      }
      view.setUint32(start, bodyBytes, true);
      view.setUint32(start + 4, Bun.hash.crc32(buffer.subarray(start + 8, position)), true);
      this.framePositions[i] = start;
    }
    this.maxTimestampMs = records.length > 0 ? maxTimestampMs : 0;
    return this.buffer.subarray(0, position);
  }

  private encodeHeaders(headers: Headers, start: number): number {
    let position = start;
    for (const name in headers) {
      position = this.encodeString(name, position, 2);
      position = this.encodeString(String(headers[name]), position, 4);
    }
    return position;
  }

  /** Writes a length-prefixed UTF-8 string; the capacity was ensured by the caller. */
  private encodeString(text: string, start: number, lengthBytes: 2 | 4): number {
    const { written } = utf8Encoder.encodeInto(text, this.buffer.subarray(start + lengthBytes));
    if (lengthBytes === 2) {
      if (written > 0xffff) {
        throw new ValidationError("headers", `a header name of ${written} bytes is too long`);
      }
      this.view.setUint16(start, written, true);
    } else {
      this.view.setUint32(start, written, true);
    }
    return start + lengthBytes + written;
  }

  private ensureCapacity(bytes: number): void {
    if (bytes <= this.buffer.length) return;
    const next = new Uint8Array(Math.max(bytes, this.buffer.length * 2));
    next.set(this.buffer);
    this.buffer = next;
    this.view = new DataView(next.buffer);
  }

  private reset(bytes: number): void {
    this.buffer = new Uint8Array(bytes);
    this.view = new DataView(this.buffer.buffer);
  }
}

/**
 * Validates the frame at `position` of `buffer` (valid bytes end at `end`). Returns the frame's
 * total length, or {@link FRAME_INCOMPLETE} / {@link FRAME_CORRUPT}.
 */
export function checkFrame(
  buffer: Uint8Array,
  view: DataView,
  position: number,
  end: number,
  verifyCrc: boolean,
): number {
  if (end - position < FRAME_PREFIX_BYTES) return FRAME_INCOMPLETE;
  const bodyBytes = view.getUint32(position, true);
  if (bodyBytes < MIN_BODY_BYTES || bodyBytes + FRAME_PREFIX_BYTES > FRAME_BYTES_MAX) {
    return FRAME_CORRUPT;
  }
  const frameEnd = position + FRAME_PREFIX_BYTES + bodyBytes;
  if (frameEnd > end) return FRAME_INCOMPLETE;
  if (view.getUint8(position + 8) !== FRAME_MAGIC) return FRAME_CORRUPT;
  const keyBytes = view.getInt32(position + 28, true);
  const valueBytes = view.getUint32(position + 32, true);
  if (
    keyBytes < -1 ||
    FRAME_HEADER_BYTES + Math.max(keyBytes, 0) + valueBytes > frameEnd - position
  ) {
    return FRAME_CORRUPT;
  }
  if (verifyCrc) {
    const crc = Bun.hash.crc32(buffer.subarray(position + FRAME_PREFIX_BYTES, frameEnd));
    if (crc !== view.getUint32(position + 4, true)) return FRAME_CORRUPT;
  }
  return frameEnd - position;
}

/** Offset of the (checked) frame at `position`. */
export function frameOffset(view: DataView, position: number): number {
  return view.getUint32(position + 16, true) * TWO_POW_32 + view.getUint32(position + 12, true);
}

/** Timestamp of the (checked) frame at `position`. */
export function frameTimestampMs(view: DataView, position: number): number {
  return view.getInt32(position + 24, true) * TWO_POW_32 + view.getUint32(position + 20, true);
}

/**
 * Decodes the (checked) frame at `position`. Key and value are views into `buffer`, not copies:
 * they stay valid as long as the buffer is not reused, and they keep the whole buffer alive.
 */
export function decodeFrame(buffer: Uint8Array, view: DataView, position: number): StoredRecord {
  const headerCount = view.getUint16(position + 10, true);
  const keyBytes = view.getInt32(position + 28, true);
  const valueBytes = view.getUint32(position + 32, true);
  let cursor = position + FRAME_HEADER_BYTES;
  let key: Uint8Array | null = null;
  if (keyBytes >= 0) {
    key = buffer.subarray(cursor, cursor + keyBytes);
    cursor += keyBytes;
  }
  const value = buffer.subarray(cursor, cursor + valueBytes);
  cursor += valueBytes;
  const headers: Headers = {};
  if (headerCount > 0) {
    const frameEnd = position + FRAME_PREFIX_BYTES + view.getUint32(position, true);
    for (let i = 0; i < headerCount; i++) {
      const nameBytes = view.getUint16(cursor, true);
      const name = utf8Decoder.decode(buffer.subarray(cursor + 2, cursor + 2 + nameBytes));
      cursor += 2 + nameBytes;
      const textBytes = view.getUint32(cursor, true);
      headers[name] = utf8Decoder.decode(buffer.subarray(cursor + 4, cursor + 4 + textBytes));
      cursor += 4 + textBytes;
      if (cursor > frameEnd) {
        throw new LogCorruptError(`frame at byte ${position}: its headers run past the frame`);
      }
    }
  }
  return {
    offset: frameOffset(view, position),
    key,
    value,
    headers,
    timestampMs: frameTimestampMs(view, position),
  };
}
