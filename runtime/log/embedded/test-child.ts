/**
 * A child process for the embedded log's tests, run as `bun test-child.ts <mode> <dir>`:
 *
 * - `append`: opens the log with fsync "always" and appends batches of {@link recordFor} records
 *   until killed, printing `ack <firstOffset> <count>` after each append resolves (the records are
 *   then acknowledged as durable).
 * - `hold`: opens the log, prints `ready <pid>` and waits to be killed, holding the lock.
 */
import { openEmbeddedLog } from "./embedded-log.ts";
import { recordsFrom } from "./test-support.ts";

const [mode, dir] = process.argv.slice(2);
if (dir === undefined || (mode !== "append" && mode !== "hold")) {
  console.error("usage: bun test-child.ts append|hold <dir>");
  process.exit(2);
}
const log = await openEmbeddedLog({ dir, fsync: "always", segmentBytes: 64 * 1024 });
if (mode === "hold") {
  console.log(`ready ${process.pid}`);
  setInterval(() => {}, 1_000);
} else {
  await log.ensureTopic({ name: "crash", partitions: 1 });
  let next = await log.endOffset("crash", 0);
  let batch = 1;
  for (;;) {
    // Batch sizes vary so frames, writes and segment rolls fall at different places each run.
    const count = 1 + ((batch * 37) % 200);
    const first = await log.append("crash", 0, recordsFrom(next, count));
    if (first !== next) throw new Error(`append returned ${first}, expected ${next}`);
    console.log(`ack ${first} ${count}`);
    next += count;
    batch++;
  }
}
