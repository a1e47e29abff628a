/**
 * The log directory's lock: one process at a time may open it, because two writers appending to the
 * same segment files would interleave frames and corrupt them.
 *
 * The lock is a file created exclusively (`O_EXCL`) holding the owner's pid. A lock left by a
 * process that died without closing (`kill -9`) names a pid that is no longer alive, so it is taken
 * over. The check cannot tell a reused pid from the owner; the error says how to clear the lock by
 * hand in that case.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { CoelhoError } from "../../errors.ts";

/** Name of the lock file inside the log directory. */
export const LOCK_FILE_NAME = "LOCK";
/** Bounds the create / take-over loop when several processes race for a stale lock. */
const ACQUIRE_ATTEMPTS_MAX = 5;

/** Another live process holds the log directory. */
export class LogLockedError extends CoelhoError {
  readonly pid: number;
  constructor(dir: string, pid: number) {
    super(
      "log_locked",
      `${dir}: the embedded log is already open in process ${pid}` +
        `${pid === process.pid ? " (this process)" : ""}; ` +
        "only one process may open a log directory: stop it, use another directory, " +
        `or delete ${path.join(dir, LOCK_FILE_NAME)} if that pid is not a coelho process`,
    );
    this.pid = pid;
  }
}

/** A held lock; `release` removes the file if it is still ours. */
export interface DirectoryLock {
  readonly path: string;
  release(): void;
}

/** Takes the lock of `dir` (which must exist) or throws {@link LogLockedError}. */
export function acquireDirectoryLock(dir: string): DirectoryLock {
  const lockPath = path.join(dir, LOCK_FILE_NAME);
  for (let attempt = 0; attempt < ACQUIRE_ATTEMPTS_MAX; attempt++) {
    if (tryCreate(lockPath)) {
      return {
        path: lockPath,
        release: () => {
          if (readOwner(lockPath) === process.pid) fs.rmSync(lockPath, { force: true });
        },
      };
    }
    const owner = readOwner(lockPath);
    if (owner !== null && isAlive(owner)) throw new LogLockedError(dir, owner);
    // Stale (dead owner) or garbage: take it over. Two openers taking over the same stale lock at
    // the same instant could both win; a restarted pod or laptop process does not do that.
    fs.rmSync(lockPath, { force: true });
  }
  throw new CoelhoError(
    "log_locked",
    `${dir}: could not take ${LOCK_FILE_NAME} after ${ACQUIRE_ATTEMPTS_MAX} attempts; another process keeps racing for it`,
  );
}

/**
 * Creates the lock file with our pid in one step: the pid goes into a private temporary file that is
 * then hard-linked to the lock name, which fails if the lock exists. So no one ever reads a lock
 * file without its pid.
 */
function tryCreate(lockPath: string): boolean {
  const tempPath = `${lockPath}.${process.pid}.tmp`;
  const fd = fs.openSync(tempPath, "w");
  try {
    fs.writeFileSync(fd, `${process.pid}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.linkSync(tempPath, lockPath);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  } finally {
    fs.rmSync(tempPath, { force: true });
  }
}

/** Pid written in the lock file, or null when missing or unreadable. */
function readOwner(lockPath: string): number | null {
  try {
    const pid = Number.parseInt(fs.readFileSync(lockPath, "utf8").trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    // Signal 0 checks existence without sending anything.
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user, so it is alive.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
