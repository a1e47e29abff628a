import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { type OnnxScorer, releaseOnnx, scoreBatch } from "../../models/onnx/session.ts";
import { Supervisor } from "../../runtime/actor/supervisor.ts";
import {
  ActorStoppedError,
  isRetriable,
  MailboxFullError,
  ValidationError,
} from "../../runtime/errors.ts";
import { silentLogger } from "../../runtime/logger.ts";
import { InferenceFailedError, NoChampionError, ScorerUnusableError } from "./errors.ts";
import { evalRows, gbtBytes, load, newProbe, type Probe, probed } from "./fixtures.ts";
import { createInferenceActor, type InferenceActorOptions } from "./inference-actor.ts";

// Hooks start servers, processes or big fixtures: bunfig's timeout covers tests, not hooks (5 s).
setDefaultTimeout(120_000);

const COLS = 8;
const ROWS = 2_000;
/** Three different small GBTs (other training seeds, other shapes). */
const BYTES = [
  gbtBytes({ cols: COLS, rows: 3_000, seed: 1 }),
  gbtBytes({ cols: COLS, rows: 3_000, seed: 2, params: { rounds: 15, maxDepth: 4 } }),
  gbtBytes({ cols: COLS, rows: 3_000, seed: 3, params: { rounds: 5, maxDepth: 2 } }),
];
const X = evalRows(ROWS, COLS, 9);
/** Each model's output on every row of X, straight from scoreBatch. */
const expected: Float32Array[] = [];
const opened: OnnxScorer[] = [];

function row(r: number): Float32Array {
  return X.subarray(r * COLS, (r + 1) * COLS);
}

async function scorer(model: number): Promise<OnnxScorer> {
  const s = await load(BYTES[model] as Uint8Array, COLS);
  opened.push(s);
  return s;
}

function actorWith(options: Partial<InferenceActorOptions> = {}) {
  return createInferenceActor({
    name: "inference-test",
    featureCount: COLS,
    batchMax: 64,
    waitMaxMs: 1,
    mailbox: { capacity: 1_024, overflow: "backpressure" },
    logger: silentLogger,
    // Releasing is checked where it matters; elsewhere afterAll frees every session.
    releaseScorer: async () => {},
    ...options,
  });
}

beforeAll(async () => {
  for (let m = 0; m < BYTES.length; m++) {
    expected.push(await scoreBatch(await scorer(m), X, ROWS, COLS));
  }
});

afterAll(async () => {
  for (const s of opened) await releaseOnnx(s).catch(() => {});
});

describe("inference actor: scores", () => {
  test("every score equals scoreBatch on the same row, for score and scoreMany, f32 and f64", async () => {
    const actor = actorWith();
    actor.setChampion({ version: "1", scorer: await scorer(0) });
    await actor.start();
    const singles = await Promise.all(
      Array.from({ length: 1_000 }, (_, r) => actor.score(row(r), { row: r })),
    );
    singles.forEach((s, r) => {
      expect(s.score).toBe(expected[0]?.[r] as number);
      expect(s.modelVersion).toBe("1");
      expect(s.meta).toEqual({ row: r });
      expect(s.challengerScore).toBeUndefined();
    });
    const many = await actor.scoreMany(X.subarray(1_000 * COLS), 1_000);
    expect(many.modelVersion).toBe("1");
    expect(Array.from(many.scores)).toEqual(Array.from(expected[0]?.subarray(1_000) ?? []));
    const f64 = await actor.score(Float64Array.from(row(7)));
    expect(f64.score).toBe(expected[0]?.[7] as number);
    await actor.stop(1_000);
  });

  test("rows of the wrong length are a validation error, not a crash", async () => {
    const actor = actorWith();
    actor.setChampion({ version: "1", scorer: await scorer(0) });
    await actor.start();
    await expect(actor.score(new Float32Array(COLS + 1))).rejects.toBeInstanceOf(ValidationError);
    await expect(actor.scoreMany(new Float32Array(COLS * 3), 4)).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(actor.scoreMany(new Float32Array(COLS * 2_000))).rejects.toBeInstanceOf(
      ValidationError,
    );
    expect((await actor.scoreMany(new Float32Array(0))).scores.length).toBe(0);
    expect((await actor.score(row(0))).score).toBe(expected[0]?.[0] as number);
    expect(actor.status).toBe("running");
    await actor.stop(1_000);
  });
});

describe("inference actor: batching", () => {
  for (const batchMax of [256, 16]) {
    test(`100 concurrent score calls with waitMaxMs 5 and batchMax ${batchMax} take ≤ ceil(100/batchMax)+1 onnxruntime calls`, async () => {
      const probe = newProbe();
      const actor = actorWith({ batchMax, waitMaxMs: 5 });
      actor.setChampion({ version: "1", scorer: probed(await scorer(0), probe) });
      await actor.start();
      const results = await Promise.all(Array.from({ length: 100 }, (_, r) => actor.score(row(r))));
      expect(probe.calls.length).toBeLessThanOrEqual(Math.ceil(100 / batchMax) + 1);
      expect(probe.calls.reduce((a, b) => a + b, 0)).toBe(100);
      for (const n of probe.calls) expect(n).toBeLessThanOrEqual(batchMax);
      for (const [r, s] of results.entries()) expect(s.score).toBe(expected[0]?.[r] as number);
      await actor.stop(1_000);
    });
  }

  test("a shard batch of 500 rows is one promise and ceil(500/batchMax) onnxruntime calls", async () => {
    const probe = newProbe();
    const actor = actorWith({ batchMax: 256, waitMaxMs: 0 });
    actor.setChampion({ version: "1", scorer: probed(await scorer(1), probe) });
    await actor.start();
    const { scores } = await actor.scoreMany(X, 500);
    expect(probe.calls).toEqual([256, 244]);
    expect(Array.from(scores)).toEqual(Array.from(expected[1]?.subarray(0, 500) ?? []));
    await actor.stop(1_000);
  });
});

describe("inference actor: no champion", () => {
  test("score rejects with NoChampionError until a champion is set; nothing is scored", async () => {
    const actor = actorWith();
    await actor.start();
    const error = await actor.score(row(0)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoChampionError);
    expect((error as NoChampionError).code).toBe("no_champion");
    await expect(actor.scoreMany(X, 10)).rejects.toBeInstanceOf(NoChampionError);
    expect(actor.batches).toBe(0);
    actor.setChampion({ version: "1", scorer: await scorer(0) });
    expect((await actor.score(row(0))).score).toBe(expected[0]?.[0] as number);
    await actor.stop(1_000);
  });
});

describe("inference actor: hot swap", () => {
  test("10 000 requests while the champion is swapped 20 times: each resolves once, on a champion's exact output", async () => {
    const SWAPS = 20;
    const REQUESTS = 10_000;
    const released: string[] = [];
    const versionModel = new Map<string, number>();
    const slots: { version: string; scorer: OnnxScorer }[] = [];
    const versionOf = new Map<OnnxScorer, string>();
    const probe = newProbe();
    for (let v = 0; v <= SWAPS; v++) {
      const version = `v${v}`;
      versionModel.set(version, v % BYTES.length);
      // Loaded afresh: a released session is gone for good.
      const s = probed(await load(BYTES[v % BYTES.length] as Uint8Array, COLS), probe);
      versionOf.set(s, version);
      slots.push({ version, scorer: s });
    }
    const actor = actorWith({
      batchMax: 64,
      waitMaxMs: 1,
      mailbox: { capacity: 512, overflow: "backpressure" },
      maxPendingSenders: REQUESTS,
      releaseScorer: async (s) => {
        released.push(versionOf.get(s) as string);
        await releaseOnnx(s);
      },
    });
    let swaps = 0;
    const swap = () => {
      swaps++;
      actor.setChampion(slots[swaps] as { version: string; scorer: OnnxScorer });
    };
    actor.setChampion(slots[0] as { version: string; scorer: OnnxScorer });
    // Half the swaps happen inside an onnxruntime call, while a batch is in flight.
    let swapInFlight = false;
    let swapsInFlight = 0;
    probe.onRun = () => {
      if (!swapInFlight) return;
      swapInFlight = false;
      swapsInFlight++;
      swap();
    };
    await actor.start();
    let settled = 0;
    const seen = new Set<string>();
    const check = (version: string, r: number, score: number) => {
      seen.add(version);
      const model = versionModel.get(version);
      expect(model).toBeDefined();
      expect(score).toBe(expected[model as number]?.[r] as number);
    };
    const outcomes = new Set<Promise<void>>();
    const track = (p: Promise<void>) => {
      const tracked: Promise<void> = p.then(() => {
        settled++;
        outcomes.delete(tracked);
      });
      outcomes.add(tracked);
    };
    for (let i = 0; i < REQUESTS; i++) {
      const r = (i * 7) % ROWS;
      if (i % 50 === 0 && r + 100 <= ROWS) {
        // A request larger than a batch: all its rows on one version, whatever swaps meanwhile.
        track(
          actor.scoreMany(X.subarray(r * COLS, (r + 100) * COLS)).then((m) => {
            for (const [k, s] of m.scores.entries()) check(m.modelVersion, r + k, s);
          }),
        );
      } else {
        track(actor.score(row(r)).then((s) => check(s.modelVersion, r, s.score)));
      }
      if (i % 500 === 499 && swaps < SWAPS) {
        if (swaps % 2 === 0) swap();
        else swapInFlight = true;
      }
      // A window of outstanding requests spreads the load, and so the swaps, over the run.
      if (outcomes.size >= 1_000) await Promise.race(outcomes);
    }
    await Promise.all(outcomes);
    // A last in-flight swap may still be waiting for a batch.
    if (swapInFlight) await actor.score(row(0));
    await actor.score(row(0));
    expect(settled).toBe(REQUESTS);
    expect(swaps).toBe(SWAPS);
    expect(swapsInFlight).toBeGreaterThan(0);
    // The load spanned the swaps: most versions served some of it.
    expect(seen.size).toBeGreaterThan(SWAPS / 2);
    // Every replaced session was released, once, and the champion's was not.
    expect(released.sort()).toEqual(Array.from({ length: SWAPS }, (_, v) => `v${v}`).sort());
    expect(actor.models.champion).toBe(`v${SWAPS}`);
    await actor.dispose(1_000);
    expect(released).toContain(`v${SWAPS}`);
  });
});

describe("inference actor: shadow", () => {
  test("with a challenger, both scores come back; the champion's stays the score", async () => {
    const actor = actorWith();
    actor.setChampion({ version: "1", scorer: await scorer(0) });
    actor.setChallenger({ version: "2", scorer: await scorer(1) });
    await actor.start();
    const singles = await Promise.all(Array.from({ length: 300 }, (_, r) => actor.score(row(r))));
    singles.forEach((s, r) => {
      expect(s.score).toBe(expected[0]?.[r] as number);
      expect(s.modelVersion).toBe("1");
      expect(s.challengerScore).toBe(expected[1]?.[r] as number);
      expect(s.challengerVersion).toBe("2");
    });
    const many = await actor.scoreMany(X, 300);
    expect(Array.from(many.scores)).toEqual(Array.from(expected[0]?.subarray(0, 300) ?? []));
    expect(Array.from(many.challengerScores ?? [])).toEqual(
      Array.from(expected[1]?.subarray(0, 300) ?? []),
    );
    expect(many.challengerVersion).toBe("2");
    actor.setChallenger(null);
    const alone = await actor.score(row(3));
    expect(alone.challengerScore).toBeUndefined();
    expect(alone.challengerVersion).toBeUndefined();
    await actor.stop(1_000);
  });

  test("promoting the challenger keeps its session; each session is released once, after its last batch", async () => {
    const released: string[] = [];
    const names = new Map<OnnxScorer, string>();
    const actor = actorWith({
      releaseScorer: async (s) => {
        released.push(names.get(s) as string);
      },
    });
    const a = await scorer(0);
    const b = await scorer(1);
    const c = await scorer(2);
    names.set(a, "a").set(b, "b").set(c, "c");
    actor.setChampion({ version: "1", scorer: a });
    actor.setChallenger({ version: "2", scorer: b });
    await actor.start();
    await actor.score(row(0));
    // Promotion: the challenger's scorer becomes the champion's, then leaves the shadow role.
    actor.setChampion({ version: "2", scorer: b });
    actor.setChallenger(null);
    expect(released).toEqual(["a"]);
    const promoted = await actor.score(row(1));
    expect(promoted.modelVersion).toBe("2");
    expect(promoted.score).toBe(expected[1]?.[1] as number);
    actor.setChampion({ version: "3", scorer: c });
    expect((await actor.score(row(2))).score).toBe(expected[2]?.[2] as number);
    expect(released).toEqual(["a", "b"]);
    // A released scorer cannot come back: it must be loaded again.
    expect(() => actor.setChampion({ version: "1", scorer: a })).toThrow(ValidationError);
    await actor.dispose(1_000);
    expect(released).toEqual(["a", "b", "c"]);
  });

  test("a failing challenger never costs the champion's scores, and is removed when it keeps failing", async () => {
    const probe = newProbe();
    const actor = actorWith({ waitMaxMs: 0, scorerFailuresMax: 3 });
    actor.setChampion({ version: "1", scorer: await scorer(0) });
    actor.setChallenger({ version: "2", scorer: probed(await scorer(1), probe) });
    await actor.start();
    probe.failNext = 3;
    for (let k = 0; k < 3; k++) {
      const s = await actor.score(row(k));
      expect(s.score).toBe(expected[0]?.[k] as number);
      expect(s.challengerScore).toBeUndefined();
    }
    expect(actor.models).toEqual({ champion: "1", challenger: null });
    await actor.stop(1_000);
  });
});

describe("inference actor: failures", () => {
  test("a failing batch rejects exactly its requests with a retriable error; the next batch works", async () => {
    const probe = newProbe();
    const actor = actorWith({ waitMaxMs: 0 });
    actor.setChampion({ version: "1", scorer: probed(await scorer(0), probe) });
    await actor.start();
    probe.failNext = 1;
    // Submitted in one turn, they form one batch (waitMaxMs 0: what is queued goes).
    const first = await Promise.allSettled(
      Array.from({ length: 10 }, (_, r) => actor.score(row(r))),
    );
    expect(probe.calls).toEqual([10]);
    for (const outcome of first) {
      expect(outcome.status).toBe("rejected");
      const error = (outcome as PromiseRejectedResult).reason;
      expect(error).toBeInstanceOf(InferenceFailedError);
      expect(isRetriable(error)).toBe(true);
      expect((error as InferenceFailedError).code).toBe("inference_failed");
      expect((error as Error).cause).toBeDefined();
    }
    const second = await Promise.all(Array.from({ length: 10 }, (_, r) => actor.score(row(r))));
    for (const [r, s] of second.entries()) expect(s.score).toBe(expected[0]?.[r] as number);
    expect(actor.status).toBe("running");
    await actor.stop(1_000);
  });

  test("the rest of a failed large request is dropped, and a request waiting for its room gets in", async () => {
    const probe = newProbe();
    const actor = actorWith({
      batchMax: 64,
      waitMaxMs: 0,
      mailbox: { capacity: 100, overflow: "backpressure" },
    });
    actor.setChampion({ version: "1", scorer: probed(await scorer(0), probe) });
    await actor.start();
    probe.failNext = 1;
    const a = actor.scoreMany(X, 100);
    // The queue is full: this one waits for all 100 rows of room.
    const b = actor.scoreMany(X.subarray(100 * COLS), 100);
    expect(actor.waitingRequests).toBe(1);
    await expect(a).rejects.toBeInstanceOf(InferenceFailedError);
    const { scores } = await b;
    expect(Array.from(scores)).toEqual(Array.from(expected[0]?.subarray(100, 200) ?? []));
    // A's first 64 rows failed; its other 36 were never scored.
    expect(probe.calls).toEqual([64, 64, 36]);
    expect(actor.pendingRows).toBe(0);
    await actor.stop(1_000);
  });

  test("a champion that keeps failing crashes the actor; its supervisor restarts it and it serves again", async () => {
    const probe = newProbe();
    const actor = actorWith({ waitMaxMs: 0, scorerFailuresMax: 2 });
    actor.setChampion({ version: "1", scorer: probed(await scorer(0), probe) });
    const supervisor = new Supervisor(
      "inference-sup",
      {
        strategy: "one_for_one",
        maxRestarts: 3,
        periodMs: 60_000,
        backoffMinMs: 1,
        backoffMaxMs: 1,
      },
      [{ id: actor.name, create: () => actor, restart: "permanent", shutdownMs: 1_000 }],
    );
    const exits: unknown[] = [];
    actor.onExit((reason) => {
      if (reason.kind === "failed") exits.push(reason.error);
    });
    await supervisor.start();
    probe.failNext = 2;
    for (let k = 0; k < 2; k++) {
      await expect(actor.score(row(k))).rejects.toBeInstanceOf(InferenceFailedError);
      await Bun.sleep(5);
    }
    expect(exits.length).toBe(1);
    expect(exits[0]).toBeInstanceOf(ScorerUnusableError);
    for (let wait = 0; actor.status !== "running" && wait < 200; wait++) await Bun.sleep(5);
    expect(actor.status).toBe("running");
    expect((await actor.score(row(5))).score).toBe(expected[0]?.[5] as number);
    await supervisor.stop(1_000);
  });
});

describe("inference actor: bounded queue", () => {
  /** Records the largest queue seen by a probe at every onnxruntime call. */
  function watch(probe: Probe, actor: { pendingRows: number; waitingRequests: number }) {
    const seen = { rows: 0, waiting: 0 };
    probe.onRun = () => {
      seen.rows = Math.max(seen.rows, actor.pendingRows);
      seen.waiting = Math.max(seen.waiting, actor.waitingRequests);
    };
    return seen;
  }

  test("reject: a producer far faster than scoring is refused past the capacity", async () => {
    const probe = newProbe();
    const actor = actorWith({ batchMax: 16, mailbox: { capacity: 64, overflow: "reject" } });
    actor.setChampion({ version: "1", scorer: probed(await scorer(0), probe) });
    const seen = watch(probe, actor);
    await actor.start();
    const outcomes: Promise<string>[] = [];
    for (let i = 0; i < 5_000; i++) {
      outcomes.push(
        actor.score(row(i % ROWS)).then(
          (s) => (s.score === expected[0]?.[i % ROWS] ? "ok" : "wrong"),
          (e) => (e instanceof MailboxFullError ? "full" : "other"),
        ),
      );
      seen.rows = Math.max(seen.rows, actor.pendingRows);
      if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const counts = new Map<string, number>();
    for (const o of await Promise.all(outcomes)) counts.set(o, (counts.get(o) ?? 0) + 1);
    expect(seen.rows).toBeLessThanOrEqual(64);
    expect(counts.get("full")).toBeGreaterThan(0);
    expect(counts.get("ok")).toBeGreaterThan(0);
    expect((counts.get("ok") ?? 0) + (counts.get("full") ?? 0)).toBe(5_000);
    await actor.stop(1_000);
  });

  test("backpressure: a producer far faster than scoring waits; the queue never passes its capacity", async () => {
    const probe = newProbe();
    const actor = actorWith({
      batchMax: 16,
      mailbox: { capacity: 64, overflow: "backpressure" },
      maxPendingSenders: 2_000,
    });
    actor.setChampion({ version: "1", scorer: probed(await scorer(0), probe) });
    const seen = watch(probe, actor);
    await actor.start();
    const WINDOW = 1_500;
    const inFlight = new Set<Promise<void>>();
    let ok = 0;
    for (let i = 0; i < 20_000; i++) {
      const r = i % ROWS;
      const p: Promise<void> = actor.score(row(r)).then((s) => {
        if (s.score === expected[0]?.[r]) ok++;
        inFlight.delete(p);
      });
      inFlight.add(p);
      seen.rows = Math.max(seen.rows, actor.pendingRows);
      seen.waiting = Math.max(seen.waiting, actor.waitingRequests);
      // The producer only slows down when its own window is full, far above the queue.
      if (inFlight.size >= WINDOW) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    expect(ok).toBe(20_000);
    expect(seen.rows).toBeLessThanOrEqual(64);
    expect(seen.waiting).toBeGreaterThan(0);
    expect(seen.waiting).toBeLessThanOrEqual(2_000);
    await actor.stop(1_000);
  });
});

describe("inference actor: lifecycle", () => {
  test("an orderly stop scores what is queued; afterwards requests are refused", async () => {
    const actor = actorWith({ waitMaxMs: 1_000, batchMax: 1_024 });
    actor.setChampion({ version: "1", scorer: await scorer(0) });
    await actor.start();
    // A long wait: these sit in the queue until the stop flushes them.
    const pending = Array.from({ length: 500 }, (_, r) => actor.score(row(r)));
    await Bun.sleep(1);
    await actor.stop(5_000);
    const results = await Promise.all(pending);
    for (const [r, s] of results.entries()) expect(s.score).toBe(expected[0]?.[r] as number);
    await expect(actor.score(row(0))).rejects.toBeInstanceOf(ActorStoppedError);
  });

  test("requests sent before start are scored once it starts", async () => {
    const actor = actorWith();
    actor.setChampion({ version: "1", scorer: await scorer(2) });
    const early = actor.score(row(11));
    await actor.start();
    expect((await early).score).toBe(expected[2]?.[11] as number);
    await actor.stop(1_000);
  });
});
