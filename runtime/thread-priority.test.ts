import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Run in a child process: lowering the JIT's threads of the test runner itself would slow every
 * test after this one.
 */
const CHILD = `
import { readdirSync, readFileSync } from "node:fs";
import { keepRuntimeThreadsInBackground } from ${JSON.stringify(join(import.meta.dir, "thread-priority.ts"))};
// Warm the JIT up, so that its compiler threads exist.
function work(n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += i % 7;
  return sum;
}
let sum = 0;
for (let k = 0; k < 200; k++) sum += work(100_000);
// And collect, so that the collector's helpers exist.
Bun.gc(true);
const stop = keepRuntimeThreadsInBackground(50);
await Bun.sleep(200);
stop();
const threads = readdirSync("/proc/self/task").map((tid) => {
  const stat = readFileSync("/proc/self/task/" + tid + "/stat", "utf8");
  return {
    tid: Number(tid),
    name: readFileSync("/proc/self/task/" + tid + "/comm", "utf8").trim(),
    nice: Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]),
  };
});
console.log(JSON.stringify({ pid: process.pid, threads, sum }));
`;

const dir = mkdtempSync(join(tmpdir(), "coelho-thread-priority-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("keepRuntimeThreadsInBackground", () => {
  test.skipIf(process.platform !== "linux")(
    "lowers the allocator's scavenger, the JIT's compilers and the collector's helpers, and leaves the event loop and the I/O pool",
    () => {
      const script = join(dir, "child.ts");
      writeFileSync(script, CHILD);
      const child = Bun.spawnSync([process.execPath, script], { stderr: "pipe" });
      expect(child.exitCode).toBe(0);
      const { pid, threads } = JSON.parse(child.stdout.toString()) as {
        pid: number;
        threads: { tid: number; name: string; nice: number }[];
      };
      const named = (name: string) => threads.filter((t) => t.name === name);
      // Not a vacuous pass: the threads it must lower exist.
      expect(named("JITWorker").length).toBeGreaterThan(0);
      expect(named("mi-scavenger").length).toBeGreaterThan(0);
      expect(named("HeapHelper").length).toBeGreaterThan(0);
      for (const name of ["JITWorker", "mi-scavenger", "HeapHelper", "JSCWarmUp"]) {
        for (const t of named(name)) expect(t.nice).toBe(19);
      }
      expect(threads.find((t) => t.tid === pid)?.nice).toBe(0);
      for (const t of threads.filter((t) => t.name.startsWith("Bun Pool"))) expect(t.nice).toBe(0);
    },
  );
});
