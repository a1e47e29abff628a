import { describe, expect, test } from "bun:test";
import { PeriodicTask } from "./periodic.ts";

describe("periodic task", () => {
  test("runs repeatedly, never two runs at once, and stop waits for the run in progress", async () => {
    let running = 0;
    let most = 0;
    let runs = 0;
    let finished = 0;
    const task = new PeriodicTask(async () => {
      running++;
      runs++;
      most = Math.max(most, running);
      await Bun.sleep(15); // longer than the interval: ticks meanwhile are skipped
      running--;
      finished++;
    }, 2);
    task.start();
    while (runs < 3) await Bun.sleep(5);
    await task.stop();
    expect(most).toBe(1);
    expect(finished).toBe(runs);
    const after = runs;
    await Bun.sleep(20);
    expect(runs).toBe(after);
  });
});
