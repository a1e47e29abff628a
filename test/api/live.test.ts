/**
 * The live stream over a real WebSocket (`/ws` of the platform's own server): channels a client
 * subscribes to, scores sampled to a bounded number per message, alerts, the metrics summary,
 * platform events (drift, model), clear errors for bad subscriptions, and the bounded per-client
 * buffer (a client that stops reading is dropped).
 */

import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { connect as tcpConnect } from "node:net";
import { createHttp } from "../../actors/http/app.ts";
import {
  BUFFERED_BYTES_MAX,
  LiveHub,
  type LiveSocket,
  SCORES_PER_TICK,
} from "../../actors/http/live/hub.ts";
import { fraudEvents } from "../../models/fraud/simulator/events.ts";
import { platformEvents } from "../../runtime/introspection/platform-events.ts";
import { silentLogger } from "../../runtime/logger.ts";
import { waitFor } from "../support/platform-process.ts";
import { startTestPlatform, type TestPlatform } from "./support.ts";

setDefaultTimeout(60_000);
let served: TestPlatform;

beforeAll(async () => {
  served = await startTestPlatform();
}, 120_000);
afterAll(async () => {
  await served?.stop();
});

interface Message {
  type?: string;
  channel?: string;
  usecase?: string;
  data?: unknown;
  error?: string;
}

/** A WebSocket client that keeps every message it gets. */
async function connect(): Promise<{ ws: WebSocket; messages: Message[] }> {
  const ws = new WebSocket(`ws://127.0.0.1:${served.platform.httpPort()}/ws`);
  const messages: Message[] = [];
  ws.onmessage = (e) => messages.push(JSON.parse(String(e.data)) as Message);
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error("websocket did not open"));
  });
  return { ws, messages };
}

async function produceTransactions(count: number, seed: number): Promise<void> {
  const records = [];
  for (const item of fraudEvents({ seed, count, cards: 50, fraudRate: 0.2 })) {
    if (item.kind === "transaction") records.push(item.record);
  }
  await served.platform.log.produce("fraud.transactions", records);
}

test("a subscriber gets sampled scores, alerts with their drivers, metrics and platform events", async () => {
  const { ws, messages } = await connect();
  try {
    await waitFor("the welcome message", 5_000, () =>
      messages.find((m) => m.type === "welcome") ? true : undefined,
    );
    expect(messages[0]).toMatchObject({ type: "welcome", usecases: ["counter", "fraud"] });
    ws.send(
      JSON.stringify({
        type: "subscribe",
        channels: ["scores", "alerts", "metrics", "drift", "model"],
        usecase: "fraud",
      }),
    );
    await waitFor("the subscription", 5_000, () =>
      messages.find((m) => m.type === "subscribed") ? true : undefined,
    );
    await produceTransactions(3000, 21);
    const scores = await waitFor("sampled scores", 20_000, () => {
      const got = messages.filter((m) => m.channel === "scores");
      const total = got.reduce((sum, m) => sum + (m.data as { count: number }).count, 0);
      return total >= 3000 ? got : undefined;
    });
    for (const m of scores) {
      const data = m.data as { count: number; sample: { card_id: string; score: number }[] };
      expect(m.usecase).toBe("fraud");
      expect(data.sample.length).toBeLessThanOrEqual(SCORES_PER_TICK);
      expect(data.sample.length).toBeGreaterThan(0);
      expect(typeof data.sample[0]?.score).toBe("number");
    }
    // Thousands of scores arrived as a few dozen messages: sampled, not one per event.
    expect(scores.length).toBeLessThan(3000 / 10);
    const alerts = messages.filter((m) => m.channel === "alerts");
    expect(alerts.length).toBeGreaterThan(0);
    const alert = (
      (alerts[0]?.data ?? []) as {
        key: string;
        score: number;
        drivers: Record<string, number>;
        contributions: Record<string, number>;
      }[]
    )[0];
    expect(alert?.score).toBeGreaterThan(0);
    // The champion's reasons: the features that added most to this score, largest first.
    const reasons = Object.entries(alert?.contributions ?? {});
    expect(reasons.length).toBeGreaterThan(0);
    expect(reasons.length).toBeLessThanOrEqual(5);
    expect(Object.keys(alert?.drivers ?? {})).toEqual(reasons.map(([feature]) => feature));
    for (const [i, [, contribution]] of reasons.entries()) {
      expect(contribution).toBeGreaterThan(0);
      if (i > 0) expect(contribution).toBeLessThanOrEqual(reasons[i - 1]?.[1] ?? 0);
    }
    // A steady trickle, so that some one-second summary sees scoring happen.
    let seed = 100;
    const trickle = setInterval(() => void produceTransactions(50, seed++), 200);
    const metrics = await waitFor("a metrics summary with the scoring rate", 15_000, () =>
      messages.find(
        (m) =>
          m.channel === "metrics" &&
          ((m.data as { scoresPerSecond: Record<string, number> }).scoresPerSecond.fraud ?? 0) > 0,
      ),
    ).finally(() => clearInterval(trickle));
    expect(metrics.data).toMatchObject({ instance: "api-test", champions: { fraud: 1 } });
    expect((metrics.data as { instances: unknown[] }).instances.length).toBe(1);
    platformEvents.publish(
      "drift",
      { detector: "psi", feature: "amount_log", state: "drift" },
      "fraud",
    );
    platformEvents.publish("model", { action: "promote", version: 3 }, "fraud");
    platformEvents.publish("drift", { detector: "psi" }, "counter"); // another use case: not sent
    await waitFor("the drift and model events", 5_000, () =>
      messages.some((m) => m.channel === "model") ? true : undefined,
    );
    const drift = messages.filter((m) => m.channel === "drift");
    expect(drift.length).toBe(1);
    const driftEvent = (drift[0]?.data ?? {}) as { data?: { feature: string } };
    expect(driftEvent.data?.feature).toBe("amount_log");
  } finally {
    ws.close();
  }
});

test("a bad subscription is answered with what was expected; the connection stays", async () => {
  const { ws, messages } = await connect();
  try {
    ws.send(JSON.stringify({ type: "subscribe", channels: ["everything"] }));
    ws.send(JSON.stringify({ type: "subscribe", channels: ["scores"], usecase: "nope" }));
    ws.send("not json");
    const errors = await waitFor("three errors", 5_000, () => {
      const got = messages.filter((m) => m.type === "error");
      return got.length >= 3 ? got : undefined;
    });
    expect(errors[0]?.error).toContain('unknown channel "everything"');
    expect(errors[1]?.error).toContain("expected one of counter, fraud");
    expect(errors[2]?.error).toContain("expected {");
    expect(ws.readyState).toBe(WebSocket.OPEN);
  } finally {
    ws.close();
  }
});

test("a client that stops reading is dropped once its send buffer is over the bound", async () => {
  const hub = new LiveHub({
    platform: served.platform,
    events: platformEvents,
    logger: silentLogger,
    bufferedBytesMax: 1024,
  });
  let buffered = 0;
  const closed: string[] = [];
  // A socket whose peer stopped reading: what is sent stays in its buffer.
  const stalled: LiveSocket = {
    send: (text) => {
      buffered += text.length;
      return text.length;
    },
    getBufferedAmount: () => buffered,
    close: (code, reason) => closed.push(`${code} ${reason}`),
  };
  const reading: LiveSocket = {
    send: (text) => text.length,
    getBufferedAmount: () => 0,
    close: () => closed.push("reading client closed"),
  };
  hub.open(stalled);
  hub.open(reading);
  const subscribe = { type: "subscribe", channels: ["drift"] };
  hub.message(stalled, subscribe);
  hub.message(reading, subscribe);
  for (let i = 0; i < 100; i++)
    platformEvents.publish("drift", { i, pad: "x".repeat(100) }, "fraud");
  expect(closed).toEqual(["1013 too slow: the client is not reading its messages"]);
  expect(hub.dropped).toBe(1);
  expect(hub.clientCount).toBe(1);
  expect(buffered).toBeLessThan(1024 + 1000); // at most one message past the bound
  hub.shutdown();
});

/** A client-to-server WebSocket text frame (clients must mask their frames). */
function maskedFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = Buffer.from([1, 2, 3, 4]);
  const header =
    payload.length < 126
      ? Buffer.from([0x81, 0x80 | payload.length])
      : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 255]);
  const masked = Buffer.from(payload.map((b, i) => b ^ (mask[i % 4] as number)));
  return Buffer.concat([header, mask, masked]);
}

test("a real client that stops reading is dropped while a reading one keeps its stream", async () => {
  const { app, hub } = createHttp(served.platform, { logger: silentLogger });
  app.listen({ port: 0, hostname: "127.0.0.1" });
  const port = app.server?.port as number;
  const reader = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  let read = 0;
  reader.onmessage = () => read++;
  await new Promise<void>((resolve) => {
    reader.onopen = () => resolve();
  });
  reader.send(JSON.stringify({ type: "subscribe", channels: ["drift"] }));
  // The stalled client speaks WebSocket by hand over TCP, then stops reading its socket.
  const stalled = tcpConnect(port, "127.0.0.1");
  let stalledClosed = false;
  stalled.on("close", () => {
    stalledClosed = true;
  });
  stalled.on("error", () => {});
  await new Promise<void>((resolve) => stalled.on("connect", () => resolve()));
  stalled.write(
    "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  );
  await new Promise<void>((resolve) => stalled.once("data", () => resolve()));
  stalled.write(maskedFrame(JSON.stringify({ type: "subscribe", channels: ["drift"] })));
  await waitFor("both clients subscribed", 5_000, () => (hub.clientCount === 2 ? true : undefined));
  await Bun.sleep(200);
  stalled.pause();
  try {
    // Drift events of 4 KB until the stalled client's buffer passes the bound.
    const pad = "x".repeat(4096);
    let published = 0;
    await waitFor("the stalled client to be dropped", 20_000, async () => {
      for (let i = 0; i < 50; i++)
        platformEvents.publish("drift", { i: published++, pad }, "fraud");
      await Bun.sleep(1);
      return hub.dropped === 1 ? true : undefined;
    });
    expect(hub.clientCount).toBe(1);
    // The bytes held for it were bounded: ~BUFFERED_BYTES_MAX, not everything published.
    expect(published * 4096).toBeGreaterThan(BUFFERED_BYTES_MAX);
    await waitFor("the reading client to have its stream", 10_000, () =>
      read >= published * 0.9 ? true : undefined,
    );
    expect(reader.readyState).toBe(WebSocket.OPEN);
    stalled.resume(); // lets the close reach it
    await waitFor("the stalled client's connection to close", 10_000, () =>
      stalledClosed ? true : undefined,
    );
  } finally {
    stalled.destroy();
    reader.close();
    await app.stop(true);
  }
});
