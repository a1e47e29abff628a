/**
 * CPU time of this process's main thread (the event loop) alone, from Linux's per-thread
 * accounting; null elsewhere. On a machine with few cores, shared with noisy neighbours, the
 * event loop's CPU per event moves less between runs than wall-clock throughput does, and it is
 * what a change to the hot path changes.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc's utime and stime (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** utime + stime of a /proc `stat` file (a process's or a thread's), or null when unreadable. */
function statCpuSeconds(path: string): number | null {
  try {
    const stat = readFileSync(path, "utf8");
    // Fields after the command name (which may hold spaces), which ends at the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return null;
  }
}

export function eventLoopCpuSeconds(): number | null {
  return statCpuSeconds(`/proc/self/task/${process.pid}/stat`);
}

/** CPU time (user + system, every thread) of another process by pid, from /proc; null if gone. */
export function processCpuSeconds(pid: number): number | null {
  return statCpuSeconds(`/proc/${pid}/stat`);
}

/** The pid of the local Kafka broker (a `kafka.Kafka` java process), or null when none runs here. */
export function localBrokerPid(): number | null {
  try {
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
        if (cmdline.includes("\0kafka.Kafka\0")) return Number(entry);
      } catch {
        // Gone meanwhile, or not ours to read.
      }
    }
  } catch {
    // No /proc.
  }
  return null;
}
