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

/**
 * The event loop's time on a core and its time runnable but waiting for one (seconds, from
 * /proc's schedstat); null elsewhere. On a machine with few cores the waiting is what the other
 * threads (workers, fsyncs, the JIT, the collector) cost the event loop's latency.
 */
export function eventLoopSchedule(): { onCpuS: number; waitingS: number } | null {
  try {
    const [onCpuNs, waitingNs] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8")
      .trim()
      .split(" ")
      .map(Number);
    return { onCpuS: (onCpuNs as number) / 1e9, waitingS: (waitingNs as number) / 1e9 };
  } catch {
    return null;
  }
}

/**
 * CPU seconds of this process's threads by kind: the event loop as `event loop`, the others by
 * their name (`Worker`, `Bun Pool`, `JITWorker`, `HeapHelper`...), each kind summed; empty
 * elsewhere. Threads that ended meanwhile are not counted.
 */
export function threadCpuSeconds(): Map<string, number> {
  const byKind = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync("/proc/self/task");
  } catch {
    return byKind;
  }
  for (const tid of tids) {
    const seconds = statCpuSeconds(`/proc/self/task/${tid}/stat`);
    if (seconds === null) continue;
    let kind = "event loop";
    if (tid !== String(process.pid)) {
      try {
        kind = readFileSync(`/proc/self/task/${tid}/comm`, "utf8")
          .trim()
          .replace(/\s*\d+$/, "");
      } catch {
        continue;
      }
    }
    byKind.set(kind, (byKind.get(kind) ?? 0) + seconds);
  }
  return byKind;
}

/** What each kind of thread spent between two `threadCpuSeconds()` readings, largest first. */
export function threadCpuBetween(
  before: Map<string, number>,
  after: Map<string, number>,
): [string, number][] {
  return [...after]
    .map(([kind, seconds]): [string, number] => [kind, seconds - (before.get(kind) ?? 0)])
    .filter(([, seconds]) => seconds >= 0.01)
    .sort((a, b) => b[1] - a[1]);
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
