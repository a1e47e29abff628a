/**
 * Background worker threads (checkpoint writing, the Kafka changelog's transactions, retraining)
 * run at the lowest CPU priority, so that they take a core only when the event loop, the scoring
 * worker and the log's fsyncs leave it idle.
 *
 * Why: on a machine with few cores the event loop spends a tenth of its time runnable but waiting
 * for a core at 10k events/s (measured from /proc's schedstat on 2 cores), and a shard's
 * checkpoint keeps the writer thread busy for 25-40 ms three times a second. Events that arrive
 * meanwhile wait for it: half of the events slower than 5 ms fell in a checkpoint's window. At
 * the lowest priority the writer only gets the idle time, and a checkpoint takes a little longer
 * to land (its lag is bounded by the shard anyway).
 *
 * The runtime has background threads of its own: mimalloc's scavenger, which hands freed memory
 * back to the system, JavaScriptCore's JIT compilers and its warm-up thread, and the collector's
 * helpers, which mark the heap beside the event loop between a collection's pauses. At nice 0 they
 * took a core from the event loop for up to 4 ms at a time (`perf sched timehist` over the 10k
 * events/s latency run: the scavenger was what ran most while the event loop waited for a core,
 * then the I/O pool's fsyncs and the JIT). {@link keepRuntimeThreadsInBackground} lowers them to
 * the same nice value; on a machine with idle time they still run at once, and in a collection's
 * pauses the event loop does not compete with them. The I/O pool keeps nice 0: events wait for
 * its fsyncs.
 *
 * Linux keeps a nice value per thread: `setpriority` on a thread id leaves the rest of the process
 * as it was. On other systems it would lower the whole process, so nothing is done there.
 */
import { readdirSync, readFileSync } from "node:fs";
import { getPriority, setPriority } from "node:os";

/** The nice value of background threads: the lowest priority there is. */
export const BACKGROUND_NICE = 19;

/**
 * Lowers the calling thread's CPU priority to {@link BACKGROUND_NICE}. Call it first thing in a
 * worker that does background work. Returns whether the thread now runs at that priority.
 */
export function runAsBackgroundThread(): boolean {
  if (process.platform !== "linux") return false;
  try {
    // Raising one's own nice value needs no privilege; a sandbox that forbids it costs only
    // this optimisation.
    setPriority(0, BACKGROUND_NICE);
    return getPriority(0) === BACKGROUND_NICE;
  } catch {
    return false;
  }
}

/** Thread names (`/proc/self/task/<tid>/comm`) of the runtime's deferrable background work. */
export const RUNTIME_BACKGROUND_THREADS: readonly string[] = [
  "mi-scavenger",
  "JITWorker",
  "JSCWarmUp",
  "HeapHelper",
];

/** How often new runtime threads are looked for: the JIT starts its compilers as code warms up. */
const RUNTIME_THREADS_RESCAN_MS = 10_000;

/**
 * Lowers the process's runtime background threads ({@link RUNTIME_BACKGROUND_THREADS}) to
 * {@link BACKGROUND_NICE}. Returns how many it lowered now (0 off Linux, or when all already run
 * there).
 */
export function lowerRuntimeBackgroundThreads(): number {
  if (process.platform !== "linux") return 0;
  let lowered = 0;
  let tids: string[];
  try {
    tids = readdirSync("/proc/self/task");
  } catch {
    return 0;
  }
  for (const tid of tids) {
    try {
      const name = readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim();
      if (!RUNTIME_BACKGROUND_THREADS.includes(name)) continue;
      if (getPriority(Number(tid)) === BACKGROUND_NICE) continue;
      setPriority(Number(tid), BACKGROUND_NICE);
      lowered++;
    } catch {
      // The thread ended since the directory was read, or a sandbox forbids it: nothing to do.
    }
  }
  return lowered;
}

/**
 * Lowers the runtime's background threads now and every few seconds (new ones appear as the JIT
 * warms up). Returns a function that stops the rescans. Call it once per process, at startup.
 */
export function keepRuntimeThreadsInBackground(
  rescanMs: number = RUNTIME_THREADS_RESCAN_MS,
): () => void {
  lowerRuntimeBackgroundThreads();
  const timer = setInterval(lowerRuntimeBackgroundThreads, rescanMs);
  timer.unref?.();
  return () => clearInterval(timer);
}
