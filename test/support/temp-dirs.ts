/**
 * Temporary folders for one test file, each named by what it holds and all removed after the
 * file's tests: a platform's log, checkpoints and registry run to hundreds of megabytes, and a
 * failed test must not leave them behind in the temp folder.
 */
import { afterAll } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Attempts at removing one folder, 50 ms apart. */
const REMOVE_ATTEMPTS = 20;

export interface TempDirs {
  /** A new empty folder, `<os temp>/<prefix>XXXXXX`. */
  make(prefix: string): string;
  /** Removes every folder made so far. */
  removeAll(): Promise<void>;
}

/**
 * Folders removed once the file's tests are done. A file that must first stop what writes into
 * them (a platform process, a browser) passes `removeAfterAll: false` and calls `removeAll` in
 * its own `afterAll`, after stopping it.
 */
export function tempDirs(options: { removeAfterAll?: boolean } = {}): TempDirs {
  const made: string[] = [];
  const dirs: TempDirs = {
    make(prefix) {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      made.push(dir);
      return dir;
    },
    async removeAll() {
      for (const dir of made.splice(0)) {
        // Bun's recursive rmSync can return without an error and without removing anything
        // while another thread (a checkpoint writer just terminated) still has files open
        // there; a second attempt a moment later removes it.
        for (let attempt = 1; ; attempt++) {
          rmSync(dir, { recursive: true, force: true });
          if (!existsSync(dir) || attempt >= REMOVE_ATTEMPTS) break;
          await Bun.sleep(50);
        }
      }
    },
  };
  if (options.removeAfterAll ?? true) afterAll(() => dirs.removeAll());
  return dirs;
}
