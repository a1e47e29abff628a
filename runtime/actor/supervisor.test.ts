import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { EscalationError } from "../errors.ts";
import { setLogLevel } from "../logger.ts";
import { restarts } from "../metrics.ts";
import { type Actor, spawn } from "./actor.ts";
import { type DeadLetter, deadLetterSink } from "./dead-letters.ts";
import { Supervisor } from "./supervisor.ts";
import type {
  ChildSpec,
  ExitReason,
  RestartType,
  Supervisable,
  SupervisorOptions,
} from "./types.ts";

// Restart and escalation lines are expected here; keep the test output readable.
beforeAll(() => setLogLevel("error"));
afterAll(() => setLogLevel("info"));

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Waits until `condition` holds, polling on the event loop; fails after `limit` turns. */
async function until(condition: () => boolean, limit = 2_000): Promise<void> {
  for (let i = 0; i < limit; i++) {
    if (condition()) return;
    await Bun.sleep(1);
  }
  throw new Error("condition not reached");
}

function options(overrides: Partial<SupervisorOptions> = {}): SupervisorOptions {
  return {
    strategy: "one_for_one",
    maxRestarts: 3,
    periodMs: 10_000,
    backoffMinMs: 0,
    backoffMaxMs: 0,
    ...overrides,
  };
}

/**
 * A child that records its lifecycle in `events` as `start:id`, `restart:id`, `stop:id`.
 * "inc" adds one, "get" answers the count, "crash" fails.
 */
function probe(id: string, events: string[]): Actor<string, number> {
  return spawn<string, number>({
    name: id,
    kind: "probe",
    mailbox: { capacity: 100, overflow: "reject" },
    behavior: () => {
      let count = 0;
      return {
        onStart: () => void events.push(`start:${id}`),
        onRestart: () => void events.push(`restart:${id}`),
        onStop: () => void events.push(`stop:${id}`),
        receive(message) {
          if (message === "crash") throw new Error(`${id} crashed`);
          if (message === "inc") count++;
          return count;
        },
      };
    },
  });
}

function spec(child: Supervisable, restart: RestartType = "permanent"): ChildSpec {
  return { id: child.id, create: () => child, restart, shutdownMs: 1_000 };
}

function exits(target: Supervisable): ExitReason[] {
  const seen: ExitReason[] = [];
  target.onExit((reason) => seen.push(reason));
  return seen;
}

function crashAndWait(child: Actor<string, number>, events: string[], expected: string[]) {
  child.tell("crash");
  return until(() => expected.every((e) => events.includes(e)));
}

describe("start and stop order", () => {
  test("children start in order and stop in reverse, nested supervisors included", async () => {
    const events: string[] = [];
    const [a, x, y, c] = ["a", "x", "y", "c"].map((id) => probe(id, events)) as Actor<
      string,
      number
    >[];
    const inner = new Supervisor("inner", options(), [
      spec(x as Supervisable),
      spec(y as Supervisable),
    ]);
    const root = new Supervisor("root", options(), [
      spec(a as Supervisable),
      spec(inner),
      spec(c as Supervisable),
    ]);
    const rootExits = exits(root);
    await root.start();
    expect(events).toEqual(["start:a", "start:x", "start:y", "start:c"]);
    expect(root.which().map((child) => [child.id, child.state])).toEqual([
      ["a", "running"],
      ["inner", "running"],
      ["c", "running"],
    ]);
    events.length = 0;
    await root.stop(5_000);
    expect(events).toEqual(["stop:c", "stop:y", "stop:x", "stop:a"]);
    expect(rootExits).toEqual([{ kind: "normal" }]);
  });

  test("a child that does not stop within its shutdownMs is abandoned and the stop goes on", async () => {
    const events: string[] = [];
    const hung: Supervisable = {
      id: "hung",
      start: async () => {},
      stop: () => new Promise<void>(() => {}),
      onExit: () => {},
    };
    const a = probe("a", events);
    const root = new Supervisor("abandoning", options(), [
      spec(a),
      { id: "hung", create: () => hung, restart: "permanent", shutdownMs: 10 },
    ]);
    await root.start();
    await root.stop(5_000);
    expect(events).toEqual(["start:a", "stop:a"]);
    expect(root.status).toBe("stopped");
  });
});

describe("strategies", () => {
  test("one_for_one restarts only the failed child, fresh, with its mailbox kept", async () => {
    const events: string[] = [];
    const dead: DeadLetter[] = [];
    const off = deadLetterSink.subscribe((entry) => dead.push(entry));
    const [a, b, c] = ["a", "b", "c"].map((id) => probe(id, events)) as Actor<string, number>[];
    const sup = new Supervisor("one-for-one", options(), [
      spec(a as Supervisable),
      spec(b as Supervisable),
      spec(c as Supervisable),
    ]);
    await sup.start();
    b?.tell("inc");
    b?.tell("inc");
    b?.tell("crash");
    b?.tell("inc"); // queued behind the crash: kept for the next run
    events.length = 0;
    await until(() => events.includes("restart:b"));
    expect(await b?.ask("get", 1_000)).toBe(1);
    expect(events).toEqual(["restart:b"]);
    expect(dead.filter((d) => d.actor === "b").map((d) => [d.reason, d.message])).toEqual([
      ["failure", "crash"],
    ]);
    off();
    await sup.stop(1_000);
  });

  test("one_for_all stops the others in reverse order and restarts all in order", async () => {
    const events: string[] = [];
    const [a, b, c] = ["a", "b", "c"].map((id) => probe(id, events)) as Actor<string, number>[];
    const sup = new Supervisor("one-for-all", options({ strategy: "one_for_all" }), [
      spec(a as Supervisable),
      spec(b as Supervisable),
      spec(c as Supervisable),
    ]);
    await sup.start();
    a?.tell("inc");
    events.length = 0;
    await crashAndWait(b as Actor<string, number>, events, ["start:c"]);
    expect(events).toEqual(["stop:c", "stop:a", "start:a", "restart:b", "start:c"]);
    expect(await a?.ask("get", 1_000)).toBe(0);
    await sup.stop(1_000);
  });

  test("rest_for_one restarts the failed child and those started after it, not those before", async () => {
    const events: string[] = [];
    const [a, b, c, d] = ["a", "b", "c", "d"].map((id) => probe(id, events)) as Actor<
      string,
      number
    >[];
    const sup = new Supervisor("rest-for-one", options({ strategy: "rest_for_one" }), [
      spec(a as Supervisable),
      spec(b as Supervisable),
      spec(c as Supervisable),
      spec(d as Supervisable),
    ]);
    await sup.start();
    events.length = 0;
    await crashAndWait(b as Actor<string, number>, events, ["start:d"]);
    expect(events).toEqual(["stop:d", "stop:c", "restart:b", "start:c", "start:d"]);
    await sup.stop(1_000);
  });

  test("a child that crashes again on its kept mailbox right after a restart is restarted again", async () => {
    const events: string[] = [];
    const a = probe("a", events);
    const sup = new Supervisor("crash-loop", options({ maxRestarts: 5 }), [spec(a)]);
    await sup.start();
    a.tell("crash");
    a.tell("crash"); // processed the moment the first restart resumes the mailbox
    a.tell("inc");
    await until(() => events.filter((e) => e === "restart:a").length === 2);
    expect(await a.ask("get", 1_000)).toBe(1);
    expect(sup.which()[0]?.state).toBe("running");
    await sup.stop(1_000);
  });

  test("every restart is counted in coelho_supervisor_restarts_total", async () => {
    const events: string[] = [];
    const a = probe("a", events);
    const sup = new Supervisor("counted", options(), [spec(a)]);
    await sup.start();
    await crashAndWait(a, events, ["restart:a"]);
    const { values } = await restarts.get();
    expect(values.find((v) => v.labels.supervisor === "counted")?.value).toBe(1);
    await sup.stop(1_000);
  });
});

describe("restart types", () => {
  test("permanent: restarted after a failure and after a normal exit", async () => {
    const events: string[] = [];
    const a = probe("a", events);
    const sup = new Supervisor("permanent", options(), [spec(a, "permanent")]);
    await sup.start();
    await a.stop(1_000); // exits normal behind the supervisor's back
    await until(() => a.status === "running");
    await crashAndWait(a, events, ["restart:a"]);
    expect(events).toEqual(["start:a", "stop:a", "start:a", "restart:a"]);
    await sup.stop(1_000);
  });

  test("transient: restarted after a failure, left stopped after a normal exit", async () => {
    const events: string[] = [];
    const a = probe("a", events);
    const sup = new Supervisor("transient", options(), [spec(a, "transient")]);
    await sup.start();
    await crashAndWait(a, events, ["restart:a"]);
    await a.stop(1_000);
    await tick();
    await tick();
    expect(a.status).toBe("stopped");
    expect(sup.which()).toEqual([
      { id: "a", state: "stopped", restart: "transient", dynamic: false },
    ]);
    await sup.stop(1_000);
  });

  test("temporary: never restarted, and removed once it exits", async () => {
    const events: string[] = [];
    const a = probe("a", events);
    const b = probe("b", events);
    const sup = new Supervisor("temporary", options(), [spec(a, "temporary"), spec(b)]);
    await sup.start();
    a.tell("crash");
    await until(() => sup.which().length === 1);
    expect(sup.which().map((child) => child.id)).toEqual(["b"]);
    expect(events).toEqual(["start:a", "start:b"]);
    await sup.stop(1_000);
  });
});

describe("intensity and escalation", () => {
  test("more than maxRestarts within periodMs stops the children in reverse and fails upward", async () => {
    const events: string[] = [];
    const a = probe("a", events);
    const b = probe("b", events);
    const sup = new Supervisor("fragile", options({ maxRestarts: 2 }), [spec(a), spec(b)]);
    const exited = exits(sup);
    await sup.start();
    await crashAndWait(b, events, ["restart:b"]);
    events.length = 0;
    await crashAndWait(b, events, ["restart:b"]);
    events.length = 0;
    b.tell("crash");
    await until(() => exited.length > 0);
    expect(events).toEqual(["stop:a"]); // b had crashed; a is stopped in order
    expect(sup.status).toBe("failed");
    const reason = exited[0];
    expect(reason?.kind).toBe("failed");
    const error = reason?.kind === "failed" ? reason.error : undefined;
    expect(error).toBeInstanceOf(EscalationError);
    expect((error as EscalationError).message).toContain('supervisor "fragile"');
    expect((error as EscalationError).message).toContain('child "b"');
    expect((error as EscalationError).message).toContain("b crashed");
  });

  test("the parent sees a nested supervisor's escalation and restarts it per its own strategy", async () => {
    const events: string[] = [];
    const x = probe("x", events);
    const y = probe("y", events);
    const inner = new Supervisor("inner", options({ maxRestarts: 0 }), [spec(x)]);
    const outer = new Supervisor("outer", options({ strategy: "one_for_all" }), [
      spec(inner),
      spec(y),
    ]);
    await outer.start();
    events.length = 0;
    x.tell("crash");
    await until(() => events.includes("start:y"));
    // inner gave up (x not restarted by it), so outer stopped y and restarted both in order;
    // x's last run had crashed, so its new run begins with onRestart.
    expect(events).toEqual(["stop:y", "restart:x", "start:y"]);
    expect(inner.status).toBe("running");
    expect(x.status).toBe("running");
    await outer.stop(1_000);
  });

  test("escalations multiply upward: the root sees a chain naming every level", async () => {
    const events: string[] = [];
    const x = probe("x", events);
    const inner = new Supervisor("inner", options({ maxRestarts: 0 }), [spec(x)]);
    const outer = new Supervisor("outer", options({ maxRestarts: 0 }), [spec(inner)]);
    const exited = exits(outer);
    await outer.start();
    x.tell("crash");
    await until(() => exited.length > 0);
    const error = exited[0]?.kind === "failed" ? exited[0].error : undefined;
    expect(error).toBeInstanceOf(EscalationError);
    expect((error as Error).message).toContain('supervisor "outer": child "inner"');
    expect((error as Error).message).toContain('supervisor "inner": child "x"');
    expect(((error as Error).cause as EscalationError).child).toBe("x");
  });

  test("a child that fails to start counts as a failure: retried, then escalated", async () => {
    let attempts = 0;
    const flaky = (failures: number) =>
      spawn<string, void>({
        name: "flaky",
        kind: "probe",
        mailbox: { capacity: 10, overflow: "reject" },
        behavior: () => ({
          onStart: () => {
            attempts++;
            if (attempts <= failures) throw new Error(`start attempt ${attempts} failed`);
          },
          onRestart: () => {
            attempts++;
            if (attempts <= failures) throw new Error(`start attempt ${attempts} failed`);
          },
          receive: () => {},
        }),
      });

    const recovering = new Supervisor("recovering", options({ maxRestarts: 3 }), [spec(flaky(2))]);
    await recovering.start();
    expect(attempts).toBe(3);
    expect(recovering.which()[0]?.state).toBe("running");
    await recovering.stop(1_000);

    attempts = 0;
    const events: string[] = [];
    const before = probe("before", events);
    const hopeless = new Supervisor("hopeless", options({ maxRestarts: 1 }), [
      spec(before),
      spec(flaky(100)),
    ]);
    const error = await hopeless.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EscalationError);
    expect((error as Error).message).toContain("start attempt 2 failed");
    expect(events).toEqual(["start:before", "stop:before"]);
    expect(hopeless.status).toBe("failed");
  });
});

describe("dynamic children", () => {
  test("startChild adds at the end, terminateChild stops and removes, which() lists them", async () => {
    const events: string[] = [];
    const a = probe("a", events);
    const sup = new Supervisor("dynamic", options({ strategy: "rest_for_one" }), [spec(a)]);
    await sup.start();
    const shard1 = probe("shard-1", events);
    const shard2 = probe("shard-2", events);
    await sup.startChild(spec(shard1));
    await sup.startChild(spec(shard2));
    expect(sup.which().map((child) => [child.id, child.state, child.dynamic])).toEqual([
      ["a", "running", false],
      ["shard-1", "running", true],
      ["shard-2", "running", true],
    ]);
    await expect(sup.startChild(spec(probe("a", events)))).rejects.toThrow("already exists");

    shard1.tell("inc");
    expect(await sup.terminateChild("shard-1")).toBe(true);
    expect(await sup.terminateChild("shard-1")).toBe(false);
    expect(sup.which().map((child) => child.id)).toEqual(["a", "shard-2"]);
    expect(events).toEqual(["start:a", "start:shard-1", "start:shard-2", "stop:shard-1"]);

    // A dynamic child is supervised like the others.
    events.length = 0;
    await crashAndWait(shard2, events, ["restart:shard-2"]);
    expect(events).toEqual(["restart:shard-2"]);
    await sup.stop(1_000);
    expect(events).toEqual(["restart:shard-2", "stop:shard-2", "stop:a"]);
  });

  test("startChild rejects and forgets a child whose start fails", async () => {
    const sup = new Supervisor("dynamic-fail", options(), []);
    await sup.start();
    const broken = spawn<string, void>({
      name: "broken",
      kind: "probe",
      mailbox: { capacity: 10, overflow: "reject" },
      behavior: () => ({
        onStart: () => {
          throw new Error("no store");
        },
        receive: () => {},
      }),
    });
    await expect(sup.startChild(spec(broken))).rejects.toThrow("no store");
    expect(sup.which()).toEqual([]);
    await sup.stop(1_000);
  });
});
