import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openEmbeddedLog } from "../../../runtime/log/embedded/index.ts";
import { haversineKm } from "../geo.ts";
import { parseLabel, parseTransaction } from "../schema.ts";
import { CURRENCY_PER_USD } from "./cities.ts";
import { fraudEvents } from "./events.ts";
import { startFraudSimulator } from "./producer.ts";
import { FRAUD_SCENARIOS, type FraudScenario } from "./scenarios.ts";
import { FraudSimulation, type SimulatedItem, type TransactionItem } from "./simulation.ts";

// Hooks start servers, processes or big fixtures: bunfig's timeout covers tests, not hooks (5 s).
setDefaultTimeout(120_000);

const decoder = new TextDecoder();

function concatenated(items: Iterable<SimulatedItem>): string {
  const parts: string[] = [];
  for (const item of items) {
    parts.push(`${item.kind}|${item.record.key ? decoder.decode(item.record.key) : ""}|`);
    parts.push(`${item.record.timestampMs}|${decoder.decode(item.record.value)}\n`);
  }
  return parts.join("");
}

describe("determinism", () => {
  test("the same seed gives identical bytes; another seed does not", () => {
    const a = concatenated(fraudEvents({ seed: 42, cards: 2000, count: 20_000 }));
    const b = concatenated(fraudEvents({ seed: 42, cards: 2000, count: 20_000 }));
    const c = concatenated(fraudEvents({ seed: 43, cards: 2000, count: 20_000 }));
    expect(a.length).toBeGreaterThan(1_000_000);
    expect(a === b).toBe(true);
    expect(a === c).toBe(false);
  });

  test("the original format is deterministic too", () => {
    const a = concatenated(fraudEvents({ seed: 1, count: 2000, originalFormat: true }));
    expect(a).toBe(concatenated(fraudEvents({ seed: 1, count: 2000, originalFormat: true })));
  });
});

describe("a long run (200k transactions)", () => {
  const COUNT = 200_000;
  const WARMUP = 50_000;
  const transactions: TransactionItem[] = [];
  const labelsById = new Map<string, { timeMs: number; isFraud: number; key: string }>();
  let simulation: FraudSimulation;
  let outOfOrder = 0;

  beforeAll(() => {
    simulation = new FraudSimulation({ seed: 2024, cards: 8000 });
    let lastMs = 0;
    while (simulation.stats.transactions < COUNT) {
      const item = simulation.next();
      const timeMs = item.record.timestampMs ?? 0;
      if (timeMs < lastMs) outOfOrder++;
      lastMs = timeMs;
      if (item.kind === "transaction") transactions.push(item);
      else {
        labelsById.set(item.label.transaction_id, {
          timeMs: item.label.labelTimeMs,
          isFraud: item.label.is_fraud,
          key: decoder.decode(item.record.key ?? new Uint8Array()),
        });
      }
    }
  });

  test("items come in event-time order, keyed by card_id, and parse", () => {
    expect(outOfOrder).toBe(0);
    for (const item of transactions.slice(0, 5000)) {
      expect(decoder.decode(item.record.key ?? new Uint8Array())).toBe(item.event.card_id ?? "");
      expect(parseTransaction(item.record.value)).toEqual(item.event);
      // No inline label unless asked.
      expect(item.event.is_fraud).toBeUndefined();
    }
  });

  test("the fraud rate is close to the configured 1 %", () => {
    const fraud = transactions.filter((t) => t.fraud !== null).length;
    expect(fraud / COUNT).toBeGreaterThan(0.008);
    expect(fraud / COUNT).toBeLessThan(0.012);
    // Past the warm-up (episodes scheduled hours or days ahead), within 10 %.
    const steady = transactions.slice(WARMUP);
    const steadyRate = steady.filter((t) => t.fraud !== null).length / steady.length;
    expect(steadyRate).toBeGreaterThan(0.009);
    expect(steadyRate).toBeLessThan(0.011);
  });

  test("every scenario occurs, with its signature", () => {
    const byScenario = new Map<FraudScenario, TransactionItem[]>();
    for (const t of transactions) {
      if (t.fraud === null || t.fraud === "original" || t.fraud === "drift") continue;
      byScenario.set(t.fraud, [...(byScenario.get(t.fraud) ?? []), t]);
    }
    const counts = FRAUD_SCENARIOS.map((scenario) => byScenario.get(scenario)?.length ?? 0);
    expect(Math.min(...counts)).toBeGreaterThan(100);
    // Card testing: tiny amounts (at most 3 USD), mostly digital goods.
    const testing = byScenario.get("card_testing") ?? [];
    const tiny = testing.filter((t) => t.event.amount / CURRENCY_PER_USD[t.event.currency] <= 3.01);
    expect(tiny.length / testing.length).toBeGreaterThan(0.6);
    const digital = testing.filter((t) => t.event.product_category === "digital_goods");
    expect(digital.length / testing.length).toBeGreaterThan(0.4);
  });

  test("rings route some card-not-present fraud through a proxy near home; stolen cards stay far", () => {
    const homes = new Map(simulation.world.cards.map((card) => [card.cardId, card]));
    const nearHomeShare = (scenario: FraudScenario) => {
      const frauds = transactions.filter((t) => t.fraud === scenario);
      const near = frauds.filter((t) => {
        const card = homes.get(t.event.card_id ?? "");
        if (!card) throw new Error(`no card ${t.event.card_id}`);
        const km = haversineKm(
          card.homeLat,
          card.homeLon,
          t.event.location.lat,
          t.event.location.lon,
        );
        return km < 50;
      });
      return near.length / frauds.length;
    };
    // LOCAL_PROXY_SHARE of episodes (0.4), counted per transaction: episodes differ in length.
    for (const scenario of ["card_testing", "account_takeover", "compromised_merchant"] as const) {
      const share = nearHomeShare(scenario);
      expect(share).toBeGreaterThan(0.25);
      expect(share).toBeLessThan(0.6);
    }
    expect(nearHomeShare("stolen_card")).toBeLessThan(0.01);
  });

  test("stolen cards show impossible travel from the card's previous transaction", () => {
    const previous = new Map<string, TransactionItem>();
    let checked = 0;
    let impossible = 0;
    for (const t of transactions) {
      const card = t.event.card_id ?? "";
      const before = previous.get(card);
      previous.set(card, t);
      if (t.fraud !== "stolen_card" || !before || before.fraud !== null) continue;
      const km = haversineKm(
        before.event.location.lat,
        before.event.location.lon,
        t.event.location.lat,
        t.event.location.lon,
      );
      const hours = (t.event.timeMs - before.event.timeMs) / 3_600_000;
      checked++;
      if (km / hours > 1000) impossible++;
    }
    expect(checked).toBeGreaterThan(50);
    expect(impossible / checked).toBeGreaterThan(0.95);
  });

  test("cards return: a card has many transactions", () => {
    const perCard = new Map<string, number>();
    for (const t of transactions)
      perCard.set(t.event.card_id ?? "", (perCard.get(t.event.card_id ?? "") ?? 0) + 1);
    const counts = [...perCard.values()].sort((a, b) => a - b);
    expect(counts[Math.floor(counts.length / 2)] ?? 0).toBeGreaterThan(10);
  });

  test("labels come after their transaction, keyed by card; some fraud is never labelled", () => {
    let fraudLabelled = 0;
    let fraudTotal = 0;
    let legitLabelled = 0;
    const fraudDelays: number[] = [];
    const legitDelays: number[] = [];
    for (const t of transactions) {
      const label = labelsById.get(t.event.transaction_id);
      if (t.fraud !== null) fraudTotal++;
      if (!label) continue;
      expect(label.timeMs).toBeGreaterThan(t.event.timeMs);
      expect(label.key).toBe(t.event.card_id ?? "");
      expect(label.isFraud).toBe(t.fraud !== null ? 1 : 0);
      const delay = label.timeMs - t.event.timeMs;
      if (t.fraud !== null) {
        fraudLabelled++;
        fraudDelays.push(delay);
      } else {
        legitLabelled++;
        legitDelays.push(delay);
      }
    }
    expect(labelsById.size).toBe(fraudLabelled + legitLabelled);
    // Unreported fraud is never labelled, whatever the horizon.
    expect(simulation.stats.fraudUnreported / fraudTotal).toBeGreaterThan(0.05);
    expect(simulation.stats.fraudUnreported / fraudTotal).toBeLessThan(0.15);
    expect(fraudLabelled).toBeLessThan(fraudTotal);
    expect(legitLabelled).toBeGreaterThan(0);
    // Chargebacks come sooner than confirmations.
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    expect(median(fraudDelays)).toBeLessThan(median(legitDelays));
  });

  test("labels parse", () => {
    const label = simulation.drainLabels().next();
    expect(label.done).toBe(false);
    if (!label.done) expect(parseLabel(label.value.record.value)).toEqual(label.value.label);
  });
});

describe("options", () => {
  test("inline labels put is_fraud in every event, as the original does", () => {
    for (const item of fraudEvents({ seed: 3, cards: 500, count: 3000, inlineLabels: true })) {
      if (item.kind !== "transaction") continue;
      expect(item.event.is_fraud).toBe(item.fraud !== null ? 1 : 0);
    }
  });

  test("the original format: no key, a new user every event, inline is_fraud, no labels", () => {
    const users = new Set<string>();
    let fraud = 0;
    for (const item of fraudEvents({
      seed: 3,
      count: 5000,
      originalFormat: true,
      fraudRate: 0.05,
    })) {
      expect(item.kind).toBe("transaction");
      expect(item.record.key).toBeNull();
      if (item.kind !== "transaction") continue;
      expect(item.event.card_id).toBeUndefined();
      users.add(item.event.user_id);
      fraud += item.event.is_fraud ?? 0;
    }
    expect(users.size).toBe(5000);
    expect(fraud).toBeGreaterThan(150);
    expect(fraud).toBeLessThan(350);
  });

  test("a label delay scale shrinks delays; labels can be switched off", () => {
    const scaled = new FraudSimulation({ seed: 5, cards: 500, labelDelays: { scale: 0.01 } });
    let labels = 0;
    while (scaled.stats.transactions < 3000) if (scaled.next().kind === "label") labels++;
    expect(labels).toBeGreaterThan(2000);
    const none = [
      ...fraudEvents({ seed: 5, cards: 500, count: 3000, labels: false, drainLabels: true }),
    ];
    expect(none.every((i) => i.kind === "transaction")).toBe(true);
  });

  test("the pending queue is bounded: beyond it items are dropped and counted", () => {
    const sim = new FraudSimulation({ seed: 5, cards: 500, pendingMax: 100 });
    while (sim.stats.transactions < 2000) sim.next();
    expect(sim.pending).toBeLessThanOrEqual(100);
    expect(sim.stats.dropped).toBeGreaterThan(0);
  });

  test("bad options are refused with the option named", () => {
    expect(() => new FraudSimulation({ cards: 0 })).toThrow("cards");
    expect(() => new FraudSimulation({ fraudRate: 0.9 })).toThrow("fraudRate");
  });
});

describe("startFraudSimulator on the embedded log", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "fraud-sim-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("produces the requested transactions, keyed by card, and labels to their topic", async () => {
    const log = await openEmbeddedLog({ dir, fsync: "never" });
    try {
      await log.ensureTopic({ name: "t.tx", partitions: 2 });
      await log.ensureTopic({ name: "t.labels", partitions: 2 });
      let done: () => void = () => {};
      const finished = new Promise<void>((resolve) => {
        done = resolve;
      });
      const stop = startFraudSimulator({
        log,
        transactionsTopic: "t.tx",
        labelsTopic: "t.labels",
        ratePerSecond: 20_000,
        cards: 500,
        seed: 9,
        count: 3000,
        labelDelays: { scale: 0.001 },
        onProgress: (n) => {
          if (n >= 3000) done();
        },
      });
      await finished;
      await stop();
      let transactions = 0;
      let labels = 0;
      for (const partition of [0, 1]) {
        const tx = await log.read("t.tx", partition, 0, 10_000);
        transactions += tx.length;
        for (const record of tx) {
          expect(decoder.decode(record.key ?? new Uint8Array())).toBe(
            parseTransaction(record.value).card_id ?? "",
          );
        }
        labels += (await log.read("t.labels", partition, 0, 10_000)).length;
      }
      expect(transactions).toBe(3000);
      expect(labels).toBeGreaterThan(1000);
    } finally {
      await log.close();
    }
  });

  test("creates missing topics, the labels topic co-partitioned with the transactions topic", async () => {
    const log = await openEmbeddedLog({ dir: join(dir, "fresh"), fsync: "never" });
    try {
      let done: () => void = () => {};
      const finished = new Promise<void>((resolve) => {
        done = resolve;
      });
      const stop = startFraudSimulator({
        log,
        transactionsTopic: "fresh.tx",
        labelsTopic: "fresh.labels",
        partitions: 4,
        ratePerSecond: 10_000,
        cards: 200,
        seed: 1,
        count: 500,
        labelDelays: { scale: 0.0001 },
        onProgress: (n) => {
          if (n >= 500) done();
        },
      });
      await finished;
      await stop();
      expect(await log.partitionCount("fresh.tx")).toBe(4);
      expect(await log.partitionCount("fresh.labels")).toBe(4);
    } finally {
      await log.close();
    }
  });
});
