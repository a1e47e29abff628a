import { expect, test } from "bun:test";
import { TIMED_OUT, within } from "./deadline.ts";

test("within gives the value of a promise that settles in time, and TIMED_OUT otherwise", async () => {
  expect(await within(Promise.resolve(42), 1_000)).toBe(42);
  expect(
    await within(
      Bun.sleep(5).then(() => "late but in time"),
      1_000,
    ),
  ).toBe("late but in time");
  const never = new Promise<string>(() => {});
  const started = performance.now();
  expect(await within(never, 20)).toBe(TIMED_OUT);
  expect(performance.now() - started).toBeGreaterThanOrEqual(15);
});

test("within rethrows a rejection that comes in time", async () => {
  await expect(within(Promise.reject(new Error("disk full")), 1_000)).rejects.toThrow("disk full");
});
