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
 * Linux keeps a nice value per thread: `setpriority` on the calling thread (pid 0) leaves the
 * rest of the process as it was. On other systems it would lower the whole process, so nothing
 * is done there.
 */
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
