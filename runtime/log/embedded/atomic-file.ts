/**
 * Small files replaced whole: write a temporary file, fsync it, rename it over the old one, fsync
 * the directory. A reader (or a process restarted after `kill -9` or a power cut) sees the old
 * content or the new one, never a mix; once this returns with `durable`, the new one survives.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** Suffix of the temporary file; leftovers from a crash are ignored and overwritten. */
export const TEMP_SUFFIX = ".tmp";

/** Replaces `filePath` with `data` atomically (blocking; for rare writes such as topic metadata). */
export function writeFileAtomicSync(
  filePath: string,
  data: string | Uint8Array,
  durable: boolean,
): void {
  const tempPath = `${filePath}${TEMP_SUFFIX}`;
  const fd = fs.openSync(tempPath, "w");
  try {
    fs.writeFileSync(fd, data);
    if (durable) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tempPath, filePath);
  if (durable) syncDirectory(path.dirname(filePath));
}

/** Replaces `filePath` with `data` atomically without blocking the event loop. */
export async function writeFileAtomic(
  filePath: string,
  data: string,
  durable: boolean,
): Promise<void> {
  const tempPath = `${filePath}${TEMP_SUFFIX}`;
  const handle = await fs.promises.open(tempPath, "w");
  try {
    await handle.writeFile(data);
    if (durable) await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.promises.rename(tempPath, filePath);
  if (durable) {
    const dir = await fs.promises.open(path.dirname(filePath), "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}

/** Makes the directory's entries (files created, renamed or deleted in it) durable. */
export function syncDirectory(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
