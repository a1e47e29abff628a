import { afterEach, describe, expect, test } from "bun:test";
import {
  ActorStoppedError,
  AskTimeoutError,
  MailboxFullError,
  ValidationError,
} from "../errors.ts";
import { registry } from "../metrics.ts";
import { type Actor, spawn } from "./actor.ts";
import { type DeadLetter, deadLetterSink } from "./dead-letters.ts";
import type { Behavior, ExitReason, OverflowPolicy } from "./types.ts";

/** Collects the dead letters published while a test runs. */
function collectDeadLetters(): DeadLetter[] {
  const seen: DeadLetter[] = [];
  const off = deadLetterSink.subscribe((entry) => seen.push(entry));
  cleanups.push(off);
  return seen;
}
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function exits(actor: Actor<never, unknown> | Actor<string, unknown>): ExitReason[] {
  const seen: ExitReason[] = [];
  actor.onExit((reason) => seen.push(reason));
  return seen;
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A counter: "inc" adds one, "get" answers the count, "bad" is invalid, "crash" fails. */
function counter(
  name: string,
  options: { capacity?: number; overflow?: OverflowPolicy; log?: string[] } = {},
): Actor<string, number> {
  const log = options.log ?? [];
  return spawn<string, number>({
    name,
    kind: "test",
    mailbox: { capacity: options.capacity ?? 100, overflow: options.overflow ?? "reject" },
    behavior: (): Behavior<string, number> => {
      let count = 0;
      return {
        onStart: () => {
          log.push("start");
        },
        onRestart: (_ctx, error) => {
          log.push(`restart:${(error as Error).message}`);
        },
        onStop: () => {
          log.push(`stop:${count}`);
        },
        receive(message) {
          if (message === "bad")
            throw new ValidationError("message", "is bad; expected inc or get");
          if (message === "crash") throw new Error("crashed");
          if (message === "inc") count++;
          return count;
        },
      };
    },
  });
}

describe("messages", () => {
  test("are processed one at a time, in order, even when receive is asynchronous", async () => {
    const seen: number[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const actor = spawn<number, void>({
      name: "ordered",
      kind: "test",
      mailbox: { capacity: 100, overflow: "reject" },
      behavior: () => ({
        async receive(n) {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          if (n % 3 === 0) await Bun.sleep(1);
          seen.push(n);
          inFlight--;
        },
      }),
    });
    await actor.start();
    for (let i = 0; i < 30; i++) actor.tell(i);
    await actor.ask(30, 1000);
    expect(seen).toEqual(Array.from({ length: 31 }, (_, i) => i));
    expect(maxInFlight).toBe(1);
  });

  test("queue before start and are processed once started", async () => {
    const actor = counter("early");
    actor.tell("inc");
    actor.tell("inc");
    expect(actor.depth).toBe(2);
    await actor.start();
    expect(await actor.ask("get", 1000)).toBe(2);
  });

  test("ask answers with receive's value", async () => {
    const actor = counter("asker");
    await actor.start();
    expect(await actor.ask("inc", 1000)).toBe(1);
    expect(await actor.ask("inc", 1000)).toBe(2);
  });

  test("ask rejects with AskTimeoutError when no reply comes in time", async () => {
    const actor = spawn<string, string>({
      name: "sleepy",
      kind: "test",
      mailbox: { capacity: 10, overflow: "reject" },
      behavior: () => ({ receive: () => new Promise<string>(() => {}) }),
    });
    await actor.start();
    const error = await actor.ask("hello", 20).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AskTimeoutError);
    expect((error as Error).message).toContain("sleepy");
  });

  test("does not starve timers: a long queue yields to the event loop while draining", async () => {
    let processed = 0;
    const actor = spawn<number, void>({
      name: "fair",
      kind: "test",
      mailbox: { capacity: 100_000, overflow: "reject" },
      behavior: () => ({
        receive: () => {
          processed++;
        },
      }),
    });
    await actor.start();
    for (let i = 0; i < 100_000; i++) actor.tell(i);
    const seenByTimer = await new Promise<number>((resolve) =>
      setTimeout(() => resolve(processed), 0),
    );
    expect(seenByTimer).toBeGreaterThan(0);
    expect(seenByTimer).toBeLessThan(100_000);
    while (processed < 100_000) await tick();
  });
});

describe("errors", () => {
  test("a validation error answers the asker and the actor goes on", async () => {
    const log: string[] = [];
    const actor = counter("validating", { log });
    const exited = exits(actor);
    await actor.start();
    const error = await actor.ask("bad", 1000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(await actor.ask("inc", 1000)).toBe(1);
    expect(exited).toEqual([]);
    expect(actor.status).toBe("running");
  });

  test("a told message that fails validation goes to dead letters with the error's code", async () => {
    const dead = collectDeadLetters();
    const actor = counter("validating-tell");
    await actor.start();
    actor.tell("bad");
    expect(await actor.ask("inc", 1000)).toBe(1);
    expect(dead.map((d) => [d.actor, d.reason, d.message])).toEqual([
      ["validating-tell", "validation", "bad"],
    ]);
  });

  test("a failure stops processing, reports to onExit, dead-letters the message, keeps the mailbox", async () => {
    const dead = collectDeadLetters();
    const log: string[] = [];
    const actor = counter("crashing", { log });
    const exited = exits(actor);
    await actor.start();
    actor.tell("inc");
    actor.tell("crash");
    actor.tell("inc");
    actor.tell("inc");
    await tick();
    expect(actor.status).toBe("failed");
    expect(exited).toHaveLength(1);
    expect(exited[0]?.kind).toBe("failed");
    expect(dead.map((d) => [d.reason, d.message])).toEqual([["failure", "crash"]]);
    expect(actor.depth).toBe(2);

    // The supervisor's restart: a fresh behaviour (count from 0), onRestart, the kept mailbox.
    await actor.start();
    expect(await actor.ask("get", 1000)).toBe(2);
    expect(log).toEqual(["start", "restart:crashed"]);
  });

  test("ask of a failing message rejects with the failure", async () => {
    const actor = counter("crash-ask");
    await actor.start();
    const error = await actor.ask("crash", 1000).catch((e: unknown) => e);
    expect((error as Error).message).toBe("crashed");
    expect(actor.status).toBe("failed");
  });

  test("an asynchronous receive that rejects is a failure too", async () => {
    const actor = spawn<string, void>({
      name: "async-crash",
      kind: "test",
      mailbox: { capacity: 10, overflow: "reject" },
      behavior: () => ({
        async receive() {
          await tick();
          throw new Error("late crash");
        },
      }),
    });
    const exited = exits(actor);
    await actor.start();
    await expect(actor.ask("x", 1000)).rejects.toThrow("late crash");
    expect(exited.map((e) => e.kind)).toEqual(["failed"]);
  });

  test("an onStart that throws makes start() reject and leaves the actor failed", async () => {
    const actor = spawn<string, void>({
      name: "bad-start",
      kind: "test",
      mailbox: { capacity: 10, overflow: "reject" },
      behavior: () => ({
        onStart: () => {
          throw new Error("cannot open store");
        },
        receive: () => {},
      }),
    });
    await expect(actor.start()).rejects.toThrow("cannot open store");
    expect(actor.status).toBe("failed");
  });
});

describe("mailbox bounds", () => {
  test("under reject, tell and send refuse overflow and dead-letter it", async () => {
    const dead = collectDeadLetters();
    const actor = counter("full-reject", { capacity: 2, overflow: "reject" });
    actor.tell("inc");
    actor.tell("inc");
    expect(() => actor.tell("inc")).toThrow(MailboxFullError);
    await expect(actor.send("inc")).rejects.toBeInstanceOf(MailboxFullError);
    await expect(actor.ask("get", 1000)).rejects.toBeInstanceOf(MailboxFullError);
    expect(actor.depth).toBe(2);
    expect(dead.map((d) => d.reason)).toEqual(["mailbox_full", "mailbox_full", "mailbox_full"]);
  });

  test("under backpressure, send waits for room (first come, first served) and tell refuses", async () => {
    const dead = collectDeadLetters();
    const seen: string[] = [];
    const actor = spawn<string, void>({
      name: "full-backpressure",
      kind: "test",
      mailbox: { capacity: 2, overflow: "backpressure" },
      behavior: () => ({ receive: (m) => void seen.push(m) }),
    });
    await actor.send("a");
    await actor.send("b");
    const resolved: string[] = [];
    const c = actor.send("c").then(() => resolved.push("c"));
    const d = actor.send("d").then(() => resolved.push("d"));
    expect(() => actor.tell("x")).toThrow(MailboxFullError);
    await tick();
    expect(resolved).toEqual([]);
    expect(actor.depth).toBe(2);
    await actor.start();
    await Promise.all([c, d]);
    await actor.stop(1000);
    expect(resolved).toEqual(["c", "d"]);
    expect(seen).toEqual(["a", "b", "c", "d"]);
    expect(dead).toEqual([]);
  });

  test("waiting senders are bounded too", async () => {
    const actor = spawn<number, void>({
      name: "too-many-senders",
      kind: "test",
      mailbox: { capacity: 1, overflow: "backpressure" },
      maxPendingSenders: 2,
      behavior: () => ({ receive: () => {} }),
    });
    actor.tell(0);
    const waiting = [actor.send(1), actor.send(2)];
    await expect(actor.send(3)).rejects.toBeInstanceOf(MailboxFullError);
    await actor.start();
    await Promise.all(waiting);
  });

  test("a producer outrunning a slow consumer never pushes depth past capacity nor grows the heap", async () => {
    const capacity = 1000;
    const total = 1_000_000;
    let processed = 0;
    let maxDepth = 0;
    const actor: Actor<number, void> = spawn<number, void>({
      name: "slow-consumer",
      kind: "test",
      mailbox: { capacity, overflow: "backpressure" },
      behavior: () => ({
        receive(n) {
          processed++;
          maxDepth = Math.max(maxDepth, actor.depth);
          // Slow down every 500th message so the producer is always ahead.
          if (n % 500 === 0) return tick();
        },
      }),
    });
    await actor.start();
    Bun.gc(true);
    const heapBefore = process.memoryUsage().heapUsed;
    for (let i = 1; i <= total; i++) {
      await actor.send(i);
      if (actor.depth > maxDepth) maxDepth = actor.depth;
    }
    await actor.stop(10_000);
    Bun.gc(true);
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    expect(processed).toBe(total);
    expect(maxDepth).toBe(capacity);
    expect(heapGrowth).toBeLessThan(20 * 1024 * 1024);
  });

  test("mailbox depth and capacity are exported as gauges per kind", async () => {
    const actor = spawn<number, void>({
      name: "gauged",
      kind: "gauge-test",
      mailbox: { capacity: 50, overflow: "reject" },
      behavior: () => ({ receive: () => {} }),
    });
    actor.tell(1);
    actor.tell(2);
    actor.tell(3);
    const text = await registry.metrics();
    expect(text).toContain('coelho_actor_mailbox_depth{kind="gauge-test"} 3');
    expect(text).toContain('coelho_actor_mailbox_capacity{kind="gauge-test"} 50');
    await actor.stop(100);
  });
});

describe("stop", () => {
  test("drains what is queued, calls onStop, exits normal, then refuses messages", async () => {
    const log: string[] = [];
    const actor = counter("stopper", { log });
    const exited = exits(actor);
    await actor.start();
    for (let i = 0; i < 5; i++) actor.tell("inc");
    await actor.stop(1000);
    expect(log).toEqual(["start", "stop:5"]);
    expect(exited).toEqual([{ kind: "normal" }]);
    expect(() => actor.tell("inc")).toThrow(ActorStoppedError);
    await expect(actor.send("inc")).rejects.toBeInstanceOf(ActorStoppedError);
    await expect(actor.ask("get", 100)).rejects.toBeInstanceOf(ActorStoppedError);
  });

  test("gives up on what it cannot drain in time: dead letters, and asks reject", async () => {
    const dead = collectDeadLetters();
    let release: () => void = () => {};
    const actor = spawn<string, string>({
      name: "stuck",
      kind: "test",
      mailbox: { capacity: 10, overflow: "backpressure" },
      behavior: () => ({
        receive: (m) =>
          m === "block" ? new Promise<string>((resolve) => (release = () => resolve(m))) : m,
      }),
    });
    await actor.start();
    actor.tell("block");
    actor.tell("queued");
    const pending = actor.ask("asked", 10_000);
    await tick();
    await actor.stop(20);
    await expect(pending).rejects.toBeInstanceOf(ActorStoppedError);
    expect(dead.map((d) => [d.reason, d.message])).toEqual([
      ["stopped", "queued"],
      ["stopped", "asked"],
    ]);
    release(); // the abandoned receive finishing late changes nothing
    await tick();
    expect(actor.status).toBe("stopped");
  });

  test("rejects senders waiting for room", async () => {
    const actor = spawn<number, void>({
      name: "stop-senders",
      kind: "test",
      mailbox: { capacity: 1, overflow: "backpressure" },
      behavior: () => ({ receive: () => new Promise<void>(() => {}) }),
    });
    await actor.start();
    actor.tell(1);
    await tick();
    actor.tell(2);
    const waiting = actor.send(3).catch((error: unknown) => error);
    await actor.stop(10);
    expect(await waiting).toBeInstanceOf(ActorStoppedError);
  });

  test("a stopped actor can be started again for a fresh run", async () => {
    const log: string[] = [];
    const actor = counter("again", { log });
    await actor.start();
    actor.tell("inc");
    await actor.stop(1000);
    await actor.start();
    expect(await actor.ask("inc", 1000)).toBe(1);
    expect(log).toEqual(["start", "stop:1", "start"]);
  });
});
