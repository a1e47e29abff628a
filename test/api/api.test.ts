/**
 * The HTTP API through `app.handle(new Request(...))`, against a real in-process platform
 * (embedded log, a trained champion, the real registry): every route, and each error status a
 * user can meet (400, 401, 403, 404, 409, 413, 422, 503).
 */

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createHttp } from "../../actors/http/app.ts";
import type { Platform } from "../../actors/platform.ts";
import { commands } from "../../runtime/introspection/commands.ts";
import { machines } from "../../runtime/introspection/machines.ts";
import { platformEvents } from "../../runtime/introspection/platform-events.ts";
import { silentLogger } from "../../runtime/logger.ts";
import { waitFor } from "../support/platform-process.ts";
import {
  ADMIN_TOKEN,
  ALLOWED_ORIGIN,
  call,
  startTestPlatform,
  type TestPlatform,
  trainChampion,
} from "./support.ts";

setDefaultTimeout(60_000);

let served: TestPlatform;
/** A second platform: no champion, and no admin token configured. */
let bare: TestPlatform;

beforeAll(async () => {
  [served, bare] = await Promise.all([
    startTestPlatform(),
    startTestPlatform({ champion: false, env: { COELHO_ADMIN_TOKEN: "" } }),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all([served?.stop(), bare?.stop()]);
});

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

/**
 * Removes whatever handlers the use case's lifecycle registered for these commands (registering
 * one and unregistering it leaves none), so the API's own fallback is what runs.
 */
function withoutLifecycleHandlers(usecase: string, names: string[]): void {
  for (const name of names) commands.register(usecase, name, async () => ({}))();
}

/** A valid transaction (the use case's example generator), for card `key`. */
async function example(key: string): Promise<Record<string, unknown>> {
  const { status, body } = await call(served.app, "GET", `/api/v1/fraud/example?key=${key}`);
  expect(status).toBe(200);
  return body;
}

describe("health and metrics", () => {
  test("live, ready with a champion, not ready without one (saying why), metrics", async () => {
    expect((await call(served.app, "GET", "/health/live")).body.status).toBe("live");
    const ready = await call(served.app, "GET", "/health/ready");
    expect(ready.status).toBe(200);
    const notReady = await call(bare.app, "GET", "/health/ready");
    expect(notReady.status).toBe(503);
    expect(JSON.stringify(notReady.body.reasons)).toContain("no champion");
    const metrics = await served.app.handle(new Request("http://localhost/metrics"));
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain("coelho_");
  });

  test("a degraded instance (registry unreachable) stays ready and says why", async () => {
    const ready = await call(served.app, "GET", "/health/ready");
    expect(ready.body.degraded).toEqual([]);
    const platform: Platform = {
      ...served.platform,
      degradedReasons: () => ["fraud: model registry unreachable: http://mlflow:5000"],
    };
    const { app, close } = createHttp(platform, { logger: silentLogger });
    try {
      const degraded = await call(app, "GET", "/health/ready");
      expect(degraded.status).toBe(200);
      expect(degraded.body.status).toBe("degraded");
      expect(JSON.stringify(degraded.body.degraded)).toContain("registry unreachable");
    } finally {
      close();
    }
  });

  test("unknown routes answer 404 in JSON pointing at the OpenAPI document", async () => {
    const { status, body } = await call(served.app, "GET", "/api/v1/nothing/here");
    expect(status).toBe(404);
    expect(String(body.error)).toContain("openapi.json");
  });
});

describe("scoring one event", () => {
  test("scores with the champion and its threshold, returning the features and latency", async () => {
    const event = await example("card-score-1");
    const { status, body } = await call(served.app, "POST", "/api/v1/fraud/score", { body: event });
    expect(status).toBe(200);
    expect(body.key).toBe("card-score-1");
    expect(body.score).toBeGreaterThanOrEqual(0);
    expect(body.score).toBeLessThanOrEqual(1);
    expect(["flag", "pass"]).toContain(body.decision as string);
    expect(body.model_version).toBe(1);
    expect(body.decision).toBe(
      (body.score as number) >= (body.threshold as number) ? "flag" : "pass",
    );
    const features = body.features as Record<string, number>;
    expect(Object.keys(features)).toContain("amount_log");
    expect(features.is_first_tx).toBe(1); // a card never seen: its state is the initial one
    expect(body.latency_ms).toBeGreaterThan(0);
    expect(body.applied).toBe(false);
  });

  test("?explain=true adds each feature's part in the score, adding up to its log-odds", async () => {
    const event = await example("card-explain-1");
    const plain = await call(served.app, "POST", "/api/v1/fraud/score", { body: event });
    expect(plain.body.explanation).toBeUndefined();
    const { status, body } = await call(served.app, "POST", "/api/v1/fraud/score?explain=true", {
      body: event,
    });
    expect(status).toBe(200);
    expect(body.score).toBe(plain.body.score as number);
    const explanation = body.explanation as {
      unit: string;
      expected_value: number;
      margin: number;
      contributions: { feature: string; value: number; contribution: number }[];
    };
    expect(explanation.unit).toBe("log-odds");
    const features = body.features as Record<string, number>;
    // Every feature the model saw, once, with the value it saw, largest part first.
    expect(explanation.contributions.map((c) => c.feature).sort()).toEqual(
      Object.keys(features).sort(),
    );
    for (const [i, c] of explanation.contributions.entries()) {
      expect(c.value).toBeCloseTo(features[c.feature] as number, 3);
      if (i > 0) {
        const before = explanation.contributions[i - 1]?.contribution ?? 0;
        expect(Math.abs(c.contribution)).toBeLessThanOrEqual(Math.abs(before));
      }
    }
    const sum = explanation.contributions.reduce((s, c) => s + c.contribution, 0);
    expect(explanation.margin).toBeCloseTo(explanation.expected_value + sum, 9);
    const score = body.score as number;
    expect(explanation.margin).toBeCloseTo(Math.log(score / (1 - score)), 3);
  });

  test("a query flag other than true or false is a 422 that names it and the choices", async () => {
    const event = await example("card-explain-2");
    const { status, body } = await call(served.app, "POST", "/api/v1/fraud/score?explain=yes", {
      body: event,
    });
    expect(status).toBe(422);
    expect(body.error).toBe('invalid query: explain: expected "true" or "false", got "yes"');
  });

  test("reads the entity's state without changing it; ?apply=true appends the event", async () => {
    const event = await example("card-apply-1");
    for (let i = 0; i < 2; i++) {
      const scored = await call(served.app, "POST", "/api/v1/fraud/score", { body: event });
      expect(scored.status).toBe(200);
    }
    const before = await call(served.app, "GET", "/api/v1/entities/fraud/card-apply-1");
    expect(before.status).toBe(404);
    expect(String(before.body.error)).toContain("card-apply-1");
    const applied = await call(served.app, "POST", "/api/v1/fraud/score?apply=true", {
      body: event,
    });
    expect(applied.body.applied).toBe(true);
    const entity = await waitFor(
      "the applied event to reach the card's state",
      20_000,
      async () => {
        const r = await call(served.app, "GET", "/api/v1/entities/fraud/card-apply-1");
        return r.status === 200 ? r.body : undefined;
      },
    );
    expect(entity.instance).toBe("api-test");
    expect(entity.offset).toBeGreaterThan(0);
    // Its current features, from the state alone: one transaction seen, in every window.
    const features = entity.features as Record<string, number>;
    expect(features.tx_count_24h).toBe(1);
    expect(features.tx_count_1m).toBe(1);
    expect(features.history_count_log).toBeCloseTo(Math.log1p(1), 12);
    expect(features.amount_sum_24h_log).toBeCloseTo(Math.log1p(Number(event.amount)), 2);
    // The card as a person reads it: its one transaction, when, how much, in which category.
    const summary = entity.summary as Record<string, unknown>;
    expect(summary.transactions).toBe(1);
    expect((summary.recent as { time: string; amount: number }[])[0]).toMatchObject({
      // The ring keeps seconds.
      time: new Date(Math.floor(Date.parse(String(event.timestamp)) / 1000) * 1000).toISOString(),
      amount: Number(event.amount),
    });
    expect(summary.categories).toEqual([event.product_category]);
    // The raw state follows, its packed slots as a JSON array rather than an indexed object.
    expect(Array.isArray((entity.state as Record<string, unknown>).slots)).toBe(true);
    const again = await call(served.app, "POST", "/api/v1/fraud/score", { body: event });
    expect((again.body.features as Record<string, number>).is_first_tx).toBe(0);
    expect(again.body.entity_known).toBe(true);
  });

  test("an example for a card this instance holds comes as the card's next transaction", async () => {
    const first = await example("card-next-1");
    // A card never seen: the example happens now.
    expect(Math.abs(Date.parse(String(first.timestamp)) - Date.now())).toBeLessThan(60_000);
    const applied = await call(served.app, "POST", "/api/v1/fraud/score?apply=true", {
      body: first,
    });
    expect(applied.status).toBe(200);
    await waitFor("the applied event to reach the card's state", 20_000, async () => {
      const r = await call(served.app, "GET", "/api/v1/entities/fraud/card-next-1");
      return r.status === 200 ? true : undefined;
    });
    const next = await example("card-next-1");
    const gapMs = Date.parse(String(next.timestamp)) - Date.parse(String(first.timestamp));
    // After the card's last transaction, by a minute to a day, at an hour the simulator drew.
    expect(gapMs).toBeGreaterThanOrEqual(60_000);
    expect(gapMs).toBeLessThan(86_400_000 + 60_000);
    const scored = await call(served.app, "POST", "/api/v1/fraud/score", { body: next });
    const features = scored.body.features as Record<string, number>;
    expect(scored.body.entity_known).toBe(true);
    expect(features.is_first_tx).toBe(0);
    expect(features.seconds_since_last_log).toBeCloseTo(Math.log1p(gapMs / 1000), 3);
  });

  test("a body failing the schema is 422 with each field's path and what was expected", async () => {
    const event = await example("card-bad-1");
    delete event.amount;
    (event.location as Record<string, number>).lat = 123;
    const { status, body } = await call(served.app, "POST", "/api/v1/fraud/score", { body: event });
    expect(status).toBe(422);
    const errors = body.errors as { path: string; expected: string }[];
    expect(errors.map((e) => e.path)).toContain("amount");
    expect(errors.map((e) => e.path)).toContain("location.lat");
    expect(String(body.error)).toContain("invalid body");
  });

  test("the use case's own checks (an impossible IP address) are 422 naming the field", async () => {
    const event = { ...(await example("card-bad-2")), ip_address: "999.1.2.3" };
    const { status, body } = await call(served.app, "POST", "/api/v1/fraud/score", { body: event });
    expect(status).toBe(422);
    expect((body.errors as { path: string }[])[0]?.path).toBe("ip_address");
    expect(String(body.error)).toContain("IPv4");
  });

  test("a body that is not JSON is 400; a body over the limit is 413", async () => {
    const bad = await call(served.app, "POST", "/api/v1/fraud/score", { rawBody: "{not json" });
    expect(bad.status).toBe(400);
    expect(String(bad.body.error)).toContain("JSON");
    const big = await call(served.app, "POST", "/api/v1/fraud/score", {
      rawBody: JSON.stringify({ pad: "x".repeat(5000) }),
    });
    expect(big.status).toBe(413);
    expect(String(big.body.error)).toContain("at most 4096");
  });

  test("unknown use cases and use cases that do not score are 404", async () => {
    const event = await example("card-x");
    const unknown = await call(served.app, "POST", "/api/v1/nope/score", { body: event });
    expect(unknown.status).toBe(404);
    expect(String(unknown.body.error)).toContain("expected one of counter, fraud");
    expect((await call(served.app, "POST", "/api/v1/counter/score", { body: {} })).status).toBe(
      404,
    );
    expect((await call(served.app, "GET", "/api/v1/nope/example")).status).toBe(404);
    expect((await call(served.app, "GET", "/api/v1/entities/nope/k")).status).toBe(404);
  });

  test("without a champion scoring is 503 with the reason", async () => {
    const event = await example("card-none");
    const { status, body } = await call(bare.app, "POST", "/api/v1/fraud/score", { body: event });
    expect(status).toBe(503);
    expect(body.code).toBe("NO_CHAMPION");
    expect(String(body.reason)).toContain("no champion");
  });
});

describe("forwarding to the owner (Kafka mode, several instances)", () => {
  /** A second instance whose platform says `owner` holds every partition. */
  function front(owner: { instanceId: string; url: string } | null) {
    const platform: Platform = {
      ...served.platform,
      config: { ...served.platform.config, instanceId: "front" },
      entity: async (usecase) =>
        usecase === "fraud" || usecase === "counter"
          ? { kind: "not_owned", partition: 0, owner }
          : { kind: "unknown_usecase" },
    };
    return createHttp(platform, { logger: silentLogger });
  }

  test("scoring and entity queries are answered by the owner, one hop only", async () => {
    const owner = { instanceId: "api-test", url: `http://127.0.0.1:${served.platform.httpPort()}` };
    const { app, close } = front(owner);
    try {
      const event = await example("card-forward-1");
      const scored = await call(app, "POST", "/api/v1/fraud/score", { body: event });
      expect(scored.status).toBe(200);
      expect(scored.body.instance).toBe("api-test");
      expect(scored.body.key).toBe("card-forward-1");
      const entity = await call(app, "GET", "/api/v1/entities/fraud/card-forward-1");
      expect(entity.status).toBe(404); // the owner's answer: never seen
      expect(entity.body.instance).toBe("api-test");
      // A request already forwarded is never forwarded again: ownership is moving.
      const again = await call(app, "POST", "/api/v1/fraud/score", {
        body: event,
        headers: { "x-coelho-forwarded-by": "elsewhere" },
      });
      expect(again.status).toBe(503);
      expect(again.headers.get("retry-after")).toBe("1");
      expect(String(again.body.error)).toContain("moving between instances");
    } finally {
      close();
    }
  });

  test("an example for a card another instance owns comes after the owner's last transaction", async () => {
    const first = await example("card-forward-2");
    await call(served.app, "POST", "/api/v1/fraud/score?apply=true", { body: first });
    await waitFor("the applied event to reach the card's state", 20_000, async () => {
      const r = await call(served.app, "GET", "/api/v1/entities/fraud/card-forward-2");
      return r.status === 200 ? true : undefined;
    });
    const owner = { instanceId: "api-test", url: `http://127.0.0.1:${served.platform.httpPort()}` };
    const { app, close } = front(owner);
    try {
      const { status, body } = await call(app, "GET", "/api/v1/fraud/example?key=card-forward-2");
      expect(status).toBe(200);
      const gapMs = Date.parse(String(body.timestamp)) - Date.parse(String(first.timestamp));
      expect(gapMs).toBeGreaterThanOrEqual(60_000);
      expect(gapMs).toBeLessThan(86_400_000 + 60_000);
    } finally {
      close();
    }
  });

  test("with no known owner, or an owner that does not answer, the answer is 503 retry", async () => {
    for (const owner of [null, { instanceId: "gone", url: "http://127.0.0.1:9" }]) {
      const { app, close } = front(owner);
      try {
        const r = await call(app, "GET", "/api/v1/entities/fraud/card-x");
        expect(r.status).toBe(503);
        expect(r.body.code).toBe("PARTITION_MOVING");
      } finally {
        close();
      }
    }
  });
});

describe("dead letters", () => {
  test("the newest refused events of an input topic, with why and where they were read", async () => {
    const encoder = new TextEncoder();
    // A valid transaction but for its amount, and bytes that are not JSON.
    const example = (await call(served.app, "GET", "/api/v1/fraud/example")).body;
    const negative = { ...example, card_id: "card-dlq-2", amount: -5 };
    await served.platform.log.produce("fraud.transactions", [
      { key: encoder.encode("card-dlq-1"), value: encoder.encode("{not json") },
      { key: encoder.encode("card-dlq-2"), value: encoder.encode(JSON.stringify(negative)) },
    ]);
    type Letters = {
      dead_letter_topic: string;
      total: number;
      letters: {
        reason: string;
        key: string;
        value: string;
        source: { topic: string; partition: number; offset: number };
      }[];
    };
    const answer = await waitFor("both events dead-lettered", 20_000, async () => {
      const { status, body } = await call(
        served.app,
        "GET",
        "/api/v1/dead-letters/fraud.transactions",
      );
      expect(status).toBe(200);
      const letters = body as unknown as Letters;
      return letters.total >= 2 ? letters : undefined;
    });
    expect(answer.dead_letter_topic).toBe("fraud.transactions.dlq");
    const byKey = new Map(answer.letters.map((l) => [l.key, l]));
    expect(byKey.get("card-dlq-1")?.value).toBe("{not json");
    expect(byKey.get("card-dlq-1")?.reason).toMatch(/JSON/i);
    expect(byKey.get("card-dlq-2")?.reason).toContain("amount");
    expect(byKey.get("card-dlq-2")?.source.topic).toBe("fraud.transactions");
    expect(byKey.get("card-dlq-2")?.source.offset).toBeGreaterThanOrEqual(0);

    const listed = await call(served.app, "GET", "/api/v1/dead-letters");
    const topics = listed.body.topics as { topic: string; usecase: string; total: number }[];
    expect(topics.find((t) => t.topic === "fraud.transactions")).toMatchObject({
      usecase: "fraud",
      total: answer.total,
    });
    expect(topics.find((t) => t.topic === "fraud.labels")?.usecase).toBe("fraud");

    const one = await call(served.app, "GET", "/api/v1/dead-letters/fraud.transactions?limit=1");
    expect((one.body as unknown as Letters).letters).toHaveLength(1);
    for (const limit of ["0", "101", "many"]) {
      const bad = await call(
        served.app,
        "GET",
        `/api/v1/dead-letters/fraud.transactions?limit=${limit}`,
      );
      expect(bad.status).toBe(422);
      expect(String(bad.body.error)).toContain("limit");
    }
    const unknown = await call(served.app, "GET", "/api/v1/dead-letters/nope");
    expect(unknown.status).toBe(404);
    expect(String(unknown.body.error)).toContain("fraud.transactions");
  });
});

describe("models", () => {
  test("lists versions with aliases, metrics and lineage", async () => {
    const { status, body } = await call(served.app, "GET", "/api/v1/models/fraud");
    expect(status).toBe(200);
    expect(body.aliases).toEqual({ champion: 1 });
    expect(body.online_quality).toMatchObject({ usecase: "fraud" });
    const versions = body.versions as Record<string, unknown>[];
    expect(versions[0]?.version).toBe(1);
    expect(Object.keys(versions[0]?.metrics as object).length).toBeGreaterThan(0);
    const lineage = (versions[0]?.lineage ?? {}) as Record<string, unknown>;
    expect(lineage.training_data).toBeDefined();
    // What it relies on: five features of its schema, largest first.
    const reliesOn = versions[0]?.relies_on as { feature: string; importance: number }[];
    expect(reliesOn).toHaveLength(5);
    const importances = reliesOn.map((f) => f.importance);
    expect(importances).toEqual([...importances].sort((a, b) => b - a));
    expect(importances[4]).toBeGreaterThan(0);
    expect((await call(served.app, "GET", "/api/v1/models/nope")).status).toBe(404);
  });

  test("admin routes: 401 without or with a wrong token, 403 when no token is configured", async () => {
    for (const action of ["promote", "rollback", "retrain"]) {
      const path = `/api/v1/models/fraud/${action}`;
      const none = await call(served.app, "POST", path);
      expect(none.status).toBe(401);
      expect(String(none.body.error)).toContain("Authorization: Bearer");
      const wrong = await call(served.app, "POST", path, {
        headers: { authorization: "Bearer not-the-admin-token-at-all" },
      });
      expect(wrong.status).toBe(401);
      const disabled = await call(bare.app, "POST", path, { headers: admin });
      expect(disabled.status).toBe(403);
      expect(String(disabled.body.error)).toContain("no COELHO_ADMIN_TOKEN");
    }
  });

  test("promote and roll back move the champion in the registry and publish model events", async () => {
    withoutLifecycleHandlers("fraud", ["promote", "rollback"]);
    const events: string[] = [];
    const off = platformEvents.subscribe((e) => {
      if (e.type === "model") events.push(`${e.data.action}:${e.data.version}`);
    });
    try {
      const noChallenger = await call(served.app, "POST", "/api/v1/models/fraud/promote", {
        headers: admin,
      });
      expect(noChallenger.status).toBe(409);
      expect(String(noChallenger.body.error)).toContain("no challenger");
      const missing = await call(served.app, "POST", "/api/v1/models/fraud/promote", {
        headers: admin,
        body: { version: 99 },
      });
      expect(missing.status).toBe(404);
      const badBody = await call(served.app, "POST", "/api/v1/models/fraud/promote", {
        headers: admin,
        body: { version: "two" },
      });
      expect(badBody.status).toBe(422);
      const nothingOlder = await call(served.app, "POST", "/api/v1/models/fraud/rollback", {
        headers: admin,
      });
      expect(nothingOlder.status).toBe(409);

      await trainChampion(served.dataDir, 4, false);
      const promoted = await call(served.app, "POST", "/api/v1/models/fraud/promote", {
        headers: admin,
        body: { version: 2, reason: "test" },
      });
      expect(promoted.status).toBe(200);
      expect(promoted.body).toMatchObject({ champion: 2, previous: 1, via: "registry" });
      const rolledBack = await call(served.app, "POST", "/api/v1/models/fraud/rollback", {
        headers: admin,
      });
      expect(rolledBack.status).toBe(200);
      expect(rolledBack.body).toMatchObject({ champion: 1, previous: 2 });
      expect(events).toEqual(["promote:2", "rollback:1"]);
      const listed = await call(served.app, "GET", "/api/v1/models/fraud");
      expect(listed.body.aliases).toEqual({ champion: 1 });
      // Which model decided when: the first champion, the promotion, the rollback.
      const history = listed.body.champion_history as { version: number; from: string }[];
      expect(history.map((term) => term.version)).toEqual([1, 2, 1]);
      expect(Date.parse(history[0]?.from ?? "")).toBeGreaterThanOrEqual(
        Date.parse(history[1]?.from ?? ""),
      );
    } finally {
      off();
    }
  });

  test("commands registered by the lifecycle run instead; retrain without one is 404", async () => {
    const offRetrain = commands.register("fraud", "retrain", async (args) => ({
      started: true,
      reason: args.reason,
    }));
    const offPromote = commands.register("fraud", "promote", async () => {
      throw new Error("the rollout is in canary; wait for it to finish");
    });
    try {
      const retrain = await call(served.app, "POST", "/api/v1/models/fraud/retrain", {
        headers: admin,
        body: { reason: "drift" },
      });
      expect(retrain.status).toBe(200);
      expect(retrain.body).toMatchObject({ started: true, reason: "drift", via: "lifecycle" });
      const refused = await call(served.app, "POST", "/api/v1/models/fraud/promote", {
        headers: admin,
      });
      expect(refused.status).toBe(409);
      expect(String(refused.body.error)).toContain("canary");
    } finally {
      offRetrain();
      offPromote();
    }
    // Unregistered now (whatever registered them before): retrain is not available.
    const missing = await call(served.app, "POST", "/api/v1/models/fraud/retrain", {
      headers: admin,
    });
    expect(missing.status).toBe(404);
    expect(String(missing.body.error)).toContain("retraining is not available");
  });
});

describe("drift, machines, shards", () => {
  test("drift lists the use case's detectors and recent drift events", async () => {
    const off = machines.register({
      kind: "drift-detector",
      name: "fraud/psi/amount_log",
      usecase: "fraud",
      snapshot: () => ({ state: "warning", context: { score: 0.15, threshold: 0.2 } }),
    });
    try {
      platformEvents.publish("drift", { detector: "psi", feature: "amount_log" }, "fraud");
      const { status, body } = await call(served.app, "GET", "/api/v1/drift/fraud");
      expect(status).toBe(200);
      expect(body.detectors).toContainEqual({
        kind: "drift-detector",
        name: "fraud/psi/amount_log",
        usecase: "fraud",
        state: "warning",
        context: { score: 0.15, threshold: 0.2 },
      });
      expect((body.events as { data: unknown }[]).at(-1)?.data).toEqual({
        detector: "psi",
        feature: "amount_log",
      });
      const all = await call(served.app, "GET", "/api/v1/machines");
      expect(
        (all.body.machines as { kind: string }[]).some((m) => m.kind === "drift-detector"),
      ).toBe(true);
    } finally {
      off();
    }
    expect((await call(served.app, "GET", "/api/v1/drift/nope")).status).toBe(404);
  });

  test("shards lists this instance's partitions", async () => {
    const { status, body } = await call(served.app, "GET", "/api/v1/shards");
    expect(status).toBe(200);
    expect((body.shards as unknown[]).length).toBe(4); // 2 partitions × 2 use cases
  });
});

describe("OpenAPI and CORS", () => {
  test("the document is built from the schemas that validate requests", async () => {
    const { status, body } = await call(served.app, "GET", "/openapi.json");
    expect(status).toBe(200);
    expect(body.openapi).toBe("3.1.0");
    const paths = body.paths as Record<string, Record<string, Record<string, unknown>>>;
    for (const path of [
      "/health/ready",
      "/api/v1/fraud/score",
      "/api/v1/entities/{usecase}/{key}",
      "/api/v1/models/{usecase}",
      "/api/v1/models/{usecase}/promote",
      "/api/v1/drift/{usecase}",
      "/api/v1/machines",
    ]) {
      expect(paths[path]).toBeDefined();
    }
    const score = paths["/api/v1/fraud/score"]?.post as Record<string, unknown>;
    const schema = (
      score.requestBody as { content: Record<string, { schema: Record<string, unknown> }> }
    ).content["application/json"]?.schema as { properties: Record<string, { maximum?: number }> };
    expect(schema.properties.amount?.maximum).toBe(10_000_000);
    expect(paths["/api/v1/models/{usecase}/promote"]?.post?.security).toEqual([{ adminToken: [] }]);
    const components = body.components as { schemas: Record<string, { required?: string[] }> };
    expect(components.schemas.FraudLabel?.required).toContain("label_time");
    expect(components.schemas.FraudTransaction?.required).toContain("amount");
  });

  test("only configured origins get CORS headers, and their preflight is answered", async () => {
    const allowed = await call(served.app, "GET", "/health/live", {
      headers: { origin: ALLOWED_ORIGIN },
    });
    expect(allowed.headers.get("access-control-allow-origin")).toBe(ALLOWED_ORIGIN);
    const other = await call(served.app, "GET", "/health/live", {
      headers: { origin: "http://evil.example" },
    });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const preflight = await call(served.app, "OPTIONS", "/api/v1/fraud/score", {
      headers: { origin: ALLOWED_ORIGIN, "access-control-request-method": "POST" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-methods")).toContain("POST");
    const refused = await call(served.app, "OPTIONS", "/api/v1/fraud/score", {
      headers: { origin: "http://evil.example", "access-control-request-method": "POST" },
    });
    expect(refused.headers.get("access-control-allow-origin")).toBeNull();
  });
});
