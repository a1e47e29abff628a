/**
 * Compaction of a compacted topic's partition (changelogs): keep only the latest record of each key,
 * as Kafka's log cleaner does, so a restore reads each key's state once instead of its history.
 *
 * Only sealed segments are rewritten; the active one is appended to and left alone. A sealed
 * segment is rewritten into a temporary file holding its surviving frames byte for byte (offsets
 * unchanged, so they have gaps), which is fsynced and renamed over the original: after a crash the
 * segment is either the old file or the new one, both valid. Records without a key cannot be
 * superseded and are kept. The map of latest offsets covers every key of the partition, so memory
 * grows with the number of distinct keys; past {@link COMPACTION_KEYS_MAX} compaction is skipped.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { syncDirectory, TEMP_SUFFIX } from "./atomic-file.ts";
import { FRAME_HEADER_BYTES, frameOffset } from "./record-codec.ts";
import type { Segment } from "./segment.ts";

/** Most distinct keys compaction tracks for one partition (about 100 bytes each in memory). */
export const COMPACTION_KEYS_MAX = 5_000_000;
/** Bytes of surviving frames buffered before they are written to the new file. */
const WRITE_CHUNK_BYTES = 4 << 20;

/** The frame's key as a string usable as a map key (one char per byte), or null without a key. */
function keyOf(buffer: Uint8Array, view: DataView, position: number): string | null {
  const keyBytes = view.getInt32(position + 28, true);
  if (keyBytes < 0) return null;
  const start = buffer.byteOffset + position + FRAME_HEADER_BYTES;
  return Buffer.from(buffer.buffer, start, keyBytes).toString("latin1");
}

/**
 * Offset of the latest visible record of every key in `segments`, or null when there are more
 * than `keysMax` keys. Only visible (durable) records count: a record that a crash could still
 * take away must not be what erases the previous value of its key.
 */
export function latestOffsets(
  segments: readonly Segment[],
  keysMax = COMPACTION_KEYS_MAX,
): Map<string, number> | null {
  const latest = new Map<string, number>();
  let tooMany = false;
  for (const segment of segments) {
    segment.forEachFrame((buffer, view, position) => {
      const key = keyOf(buffer, view, position);
      if (key === null || tooMany) return;
      latest.set(key, frameOffset(view, position));
      if (latest.size > keysMax) tooMany = true;
    });
    if (tooMany) return null;
  }
  return latest;
}

/**
 * Rewrites sealed `segment` without the records a later record of the same key supersedes.
 * Returns false, leaving the file untouched, when it holds nothing to drop. The caller reopens the
 * segment afterwards (its size and index changed).
 */
export function rewriteSegment(
  segment: Segment,
  latest: ReadonlyMap<string, number>,
  durable: boolean,
): boolean {
  let superseded = 0;
  segment.forEachFrame((buffer, view, position) => {
    const key = keyOf(buffer, view, position);
    if (key !== null && latest.get(key) !== frameOffset(view, position)) superseded++;
  });
  if (superseded === 0) return false;
  const tempPath = `${segment.path}${TEMP_SUFFIX}`;
  const fd = fs.openSync(tempPath, "w");
  try {
    const pending = new Uint8Array(WRITE_CHUNK_BYTES);
    let pendingBytes = 0;
    let written = 0;
    const flushPending = () => {
      if (pendingBytes === 0) return;
      writeAll(fd, pending.subarray(0, pendingBytes), written);
      written += pendingBytes;
      pendingBytes = 0;
    };
    segment.forEachFrame((buffer, view, position, frameBytes) => {
      const key = keyOf(buffer, view, position);
      if (key !== null && latest.get(key) !== frameOffset(view, position)) return;
      const frame = buffer.subarray(position, position + frameBytes);
      if (frameBytes > pending.length) {
        flushPending();
        writeAll(fd, frame, written);
        written += frameBytes;
        return;
      }
      if (pendingBytes + frameBytes > pending.length) flushPending();
      pending.set(frame, pendingBytes);
      pendingBytes += frameBytes;
    });
    flushPending();
    if (durable) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tempPath, segment.path);
  if (durable) syncDirectory(path.dirname(segment.path));
  return true;
}

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length) {
    done += fs.writeSync(fd, bytes, done, bytes.length - done, position + done);
  }
}
