import { describe, expect, test } from "bun:test";
import * as path from "node:path";
import type { StoredRecord } from "../log.ts";
import { LOCK_FILE_NAME, LogLockedError } from "./lock.ts";
import { expectRecordMatches, readAll, useTempLogs } from "./test-support.ts";

const logs = useTempLogs();
const CHILD = path.join(import.meta.dir, "test-child.ts");
const KILL_ROUNDS = 3;

/** Starts the test child and returns it with a reader of its stdout lines. */
function spawnChild(mode: "append" | "hold", dir: string) {
  const child = Bun.spawn(["bun", CHILD, mode, dir], { stdout: "pipe", stderr: "inherit" });
  const lines: string[] = [];
  const waiting: { count: number; resolve: () => void }[] = [];
  const done = (async () => {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of child.stdout) {
      pending += decoder.decode(chunk, { stream: true });
      const parts = pending.split("\n");
      pending = parts.pop() ?? "";
      lines.push(...parts.filter((line) => line.length > 0));
      for (const w of waiting) if (lines.length >= w.count) w.resolve();
    }
  })();
  return {
    child,
    lines,
    /** Resolves once the child printed at least `count` lines (or its output ended). */
    linesAtLeast(count: number): Promise<void> {
      if (lines.length >= count) return Promise.resolve();
      return Promise.race([
        new Promise<void>((resolve) => {
          waiting.push({ count, resolve });
        }),
        done,
      ]);
    },
    done,
  };
}

describe("embedded log: crash safety", () => {
  test("after SIGKILL mid-append, every acknowledged record is intact and offsets are contiguous", async () => {
    const dir = logs.tempDir();
    let acknowledgedEnd = 0;
    for (let round = 0; round < KILL_ROUNDS; round++) {
      const { child, lines, linesAtLeast, done } = spawnChild("append", dir);
      // Kill at a different moment each round: after a random number of acknowledged appends.
      await linesAtLeast(20 + Math.floor(Math.random() * 200));
      await Bun.sleep(Math.random() * 10);
      child.kill("SIGKILL");
      await child.exited;
      await done;
      expect(child.signalCode).toBe("SIGKILL");
      for (const line of lines) {
        const [word, first, count] = line.split(" ");
        expect(word).toBe("ack");
        acknowledgedEnd = Math.max(acknowledgedEnd, Number(first) + Number(count));
      }

      // The dead child's lock is stale: this open takes it over.
      const log = await logs.open({ dir });
      const end = await log.endOffset("crash", 0);
      expect(end).toBeGreaterThanOrEqual(acknowledgedEnd);
      const all: StoredRecord[] = await readAll(log, "crash", 0);
      expect(all.length).toBe(end);
      all.forEach((record, i) => {
        expect(record.offset).toBe(i);
        expectRecordMatches(record);
      });
      await log.close();
    }
    expect(acknowledgedEnd).toBeGreaterThan(0);
  });
});

describe("embedded log: lock", () => {
  test("a second opener in the same process is refused, naming the folder", async () => {
    const dir = logs.tempDir();
    const log = await logs.open({ dir });
    await expect(logs.open({ dir })).rejects.toThrow(
      `${dir}: the embedded log is already open in process ${process.pid} (this process)`,
    );
    await log.close();
    // Closing releases it.
    await logs.open({ dir });
  });

  test("a live process holding the folder refuses us; once it dies its lock is taken over", async () => {
    const dir = logs.tempDir();
    const { child, lines, linesAtLeast } = spawnChild("hold", dir);
    await linesAtLeast(1);
    expect(lines[0]).toBe(`ready ${child.pid}`);
    const refused = await logs.open({ dir }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(LogLockedError);
    expect((refused as LogLockedError).pid).toBe(child.pid);
    expect((refused as Error).message).toContain(path.join(dir, LOCK_FILE_NAME));
    child.kill("SIGKILL");
    await child.exited;
    const log = await logs.open({ dir });
    expect(log.kind).toBe("embedded");
  });
});
