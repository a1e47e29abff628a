import { describe, expect, test } from "bun:test";
import { RetriableError, RetriesExhaustedError, ValidationError } from "./errors.ts";
import { backoffMs, retry } from "./retry.ts";

const fast = { attempts: 5, minMs: 1, maxMs: 4 };

describe("retry", () => {
  test("retries a retriable error until the operation succeeds", async () => {
    let calls = 0;
    const value = await retry(
      "broker.fetch",
      (attempt) => {
        calls++;
        if (attempt < 3) throw new RetriableError("broker restarting");
        return "ok";
      },
      fast,
    );
    expect(value).toBe("ok");
    expect(calls).toBe(3);
  });

  test("throws anything that is not retriable at once", async () => {
    let calls = 0;
    const error = await retry(
      "event.parse",
      () => {
        calls++;
        throw new ValidationError("amount", "is negative; expected ≥ 0");
      },
      fast,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(calls).toBe(1);
  });

  test("gives up after the attempts with RetriesExhaustedError wrapping the last cause", async () => {
    let calls = 0;
    const error = await retry(
      "broker.fetch",
      async () => {
        calls++;
        throw new RetriableError(`hiccup ${calls}`);
      },
      fast,
    ).catch((e: unknown) => e);
    expect(calls).toBe(5);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect((error as RetriesExhaustedError).attempts).toBe(5);
    expect(((error as Error).cause as Error).message).toBe("hiccup 5");
    expect((error as Error).message).toBe("broker.fetch: gave up after 5 attempts: hiccup 5");
  });

  test("stops waiting when its signal aborts", async () => {
    const controller = new AbortController();
    let calls = 0;
    const pending = retry(
      "broker.fetch",
      () => {
        calls++;
        throw new RetriableError("down");
      },
      { attempts: 10, minMs: 60_000, maxMs: 60_000, signal: controller.signal },
    ).catch((e: unknown) => e);
    controller.abort(new Error("shutting down"));
    expect(((await pending) as Error).message).toBe("shutting down");
    expect(calls).toBe(1);
  });

  test("refuses bounds that make no sense, naming the operation", async () => {
    await expect(retry("op", () => 1, { attempts: 0, minMs: 1, maxMs: 2 })).rejects.toThrow(
      "op: retry attempts 0 is not valid",
    );
    await expect(retry("op", () => 1, { attempts: 1, minMs: 5, maxMs: 2 })).rejects.toThrow(
      RangeError,
    );
  });
});

describe("backoffMs", () => {
  test("doubles from min and is capped at max", () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffMs(n, 100, 1_000))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
    expect(backoffMs(10_000, 100, 1_000)).toBe(1_000);
  });
});
