/**
 * The card-fraud world in motion: a deterministic stream of transactions and delayed labels in
 * event-time order.
 *
 * Legitimate traffic is a Poisson process over all cards (each card's rate is its `ratePerDay`),
 * thinned by the card's active hours. Each legitimate transaction may start a fraud episode on its
 * card with a probability calibrated so that fraud is `fraudRate` of all transactions; episodes
 * schedule their transactions in a queue, which also holds labels until they are due. Nothing
 * here reads a clock: time is event time, starting at `startMs`.
 */
import type { LogRecord } from "../../../runtime/log/log.ts";
import { haversineKm } from "../geo.ts";
import {
  encodeLabel,
  encodeTransaction,
  type Label,
  type PaymentMethod,
  type Transaction,
  type TransactionType,
} from "../schema.ts";
import { CITIES } from "./cities.ts";
import { randomDevice } from "./devices.ts";
import { DriftSchedule, type DriftSpec } from "./drift.ts";
import { EventQueue } from "./event-queue.ts";
import { DEFAULT_LABEL_DELAYS, type LabelDelayOptions, labelDelayMs } from "./labels.ts";
import { Rng } from "./random.ts";
import {
  BREACH_VICTIMS_MAX,
  BREACH_VICTIMS_MIN,
  DEFAULT_SCENARIO_WEIGHTS,
  type EpisodeContext,
  EXPECTED_FRAUD_PER_START,
  FRAUD_SCENARIOS,
  type FraudScenario,
  planAccountTakeover,
  planBreachVictim,
  planCardTesting,
  planStolenCard,
} from "./scenarios.ts";
import { buildTransaction, type TransactionParts } from "./transaction.ts";
import { buildWorld, type Card, type Merchant, pickMerchant, type World } from "./world.ts";

export interface FraudSimulationOptions {
  /** Default 1. */
  seed?: number;
  /** Event time of the start, ms since the epoch. Default 2025-01-01T00:00:00Z. */
  startMs?: number;
  /**
   * When the world began: accounts were opened up to five years before it. Default `startMs`. A
   * simulation resumed later (see `trafficSeed`) passes the first run's, so that accounts keep
   * their age.
   */
  worldStartMs?: number;
  /**
   * Seed of the traffic (which card buys what, when, the transaction ids) once the world is built
   * from `seed`. Default: the world's generator goes on, so one seed gives one stream. A resumed
   * simulation passes another: the same cards, merchants and rings, and new transactions (ids
   * never seen before).
   */
  trafficSeed?: number;
  /** Cardholders (one card each). Default 10 000; at most CARDS_MAX. */
  cards?: number;
  /** Merchants, `merchant_1` … Default 2 000. */
  merchants?: number;
  /** Fraud rings (shared devices, IPs, places). Default 40. */
  fraudRings?: number;
  /** Target share of fraudulent transactions. Default 0.01. */
  fraudRate?: number;
  /** Relative frequency of each scenario among fraud episodes. */
  scenarioWeights?: Partial<Record<FraudScenario, number>>;
  labelDelays?: Partial<LabelDelayOptions>;
  /** Emit label events (default true). */
  labels?: boolean;
  /** Put `is_fraud` inline in every transaction, as the original producer does (default false). */
  inlineLabels?: boolean;
  /** Bound on scheduled items (future fraud and labels); beyond it they are dropped and counted. */
  pendingMax?: number;
  /** Drift scenarios switched on at event times (simulator/drift.ts). */
  drift?: readonly DriftSpec[];
}

/** A transaction with its record, and the hidden truth (never on the wire). */
export interface TransactionItem {
  kind: "transaction";
  record: LogRecord;
  event: Transaction;
  /**
   * The scenario of a fraudulent transaction, null when legitimate; `original` for fraud from the
   * original-format producer, which has no scenarios; `drift` for the concept-drift scenario's
   * new pattern (simulator/drift.ts).
   */
  fraud: FraudScenario | "original" | "drift" | null;
}

export interface LabelItem {
  kind: "label";
  record: LogRecord;
  label: Label;
}

export type SimulatedItem = TransactionItem | LabelItem;

export interface SimulationStats {
  transactions: number;
  fraud: number;
  fraudByScenario: Record<FraudScenario, number>;
  labels: number;
  /** Fraud that will never be labelled (not reported). */
  fraudUnreported: number;
  /** Items dropped because the pending queue was full. */
  dropped: number;
}

type Scheduled =
  | { kind: "fraud"; parts: TransactionParts; scenario: FraudScenario }
  | { kind: "label"; label: Label };

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** Bound on the population: the world is ~2 KB per card. */
export const CARDS_MAX = 200_000;
const BREACHES_MAX = 256;
const BREACH_WINDOW_MS = 3 * DAY_MS;
/** Mean fraudulent transactions of one breach victim (planBreachVictim: 1 to 3). */
const BREACH_VICTIM_EXPECTED_FRAUD = 2;
const DEVICES_PER_CARD_MAX = 4;
/** Per legitimate transaction: a trip starts, a new device appears, an unfamiliar network is used. */
const TRIP_PROBABILITY = 0.004;
const NEW_DEVICE_PROBABILITY = 0.002;
const NEW_NETWORK_PROBABILITY = 0.01;
const FLIGHT_KMH = 800;

const TYPES: readonly TransactionType[] = [
  "purchase",
  "payment",
  "withdrawal",
  "transfer",
  "deposit",
];
const TYPE_WEIGHTS = [86, 7, 4, 2, 1];
const CATEGORY_AMOUNT_FACTOR: Record<string, number> = {
  electronics: 2.5,
  clothing: 1.2,
  groceries: 0.8,
  travel: 4,
  services: 1.2,
  digital_goods: 0.3,
  luxury_items: 5,
  gambling: 1.5,
  other: 0.7,
};

const encoder = new TextEncoder();

/**
 * A running simulation; `next()` returns the next item in event-time order, forever.
 *
 * @example
 * const sim = new FraudSimulation({ seed: 7, cards: 1000 });
 * for (let i = 0; i < 10; i++) console.log(sim.next());
 */
export class FraudSimulation {
  readonly world: World;
  readonly stats: SimulationStats;
  private readonly rng: Rng;
  private readonly queue: EventQueue<Scheduled>;
  private readonly delays: LabelDelayOptions;
  private readonly emitLabels: boolean;
  private readonly inlineLabels: boolean;
  /** Fraudulent transactions owed per legitimate one: rate / (1 - rate). */
  private readonly fraudPerLegit: number;
  /** Mean fraudulent transactions of one episode start, over the scenario mix. */
  private readonly fraudPerStart: number;
  private readonly scenarioWeights: number[];
  /** Fraud owed so far: Σ fraudPerLegit × the drift schedule's factor, per genuine transaction. */
  private fraudOwed = 0;
  private readonly drift: DriftSchedule | null;
  /** Fraudulent transactions planned so far, plus those promised by open breaches. */
  private fraudPlanned = 0;
  /** Mean gap between candidate legitimate events, ms. */
  private readonly candidateGapMs: number;
  private nextCandidateMs: number;
  private readonly breaches = new Map<number, { untilMs: number; victimsLeft: number }>();

  constructor(options: FraudSimulationOptions = {}) {
    const cards = options.cards ?? 10_000;
    if (!Number.isInteger(cards) || cards < 1 || cards > CARDS_MAX) {
      throw new RangeError(`cards: ${cards}; expected an integer from 1 to ${CARDS_MAX}`);
    }
    const fraudRate = options.fraudRate ?? 0.01;
    if (!(fraudRate >= 0 && fraudRate < 0.5)) {
      throw new RangeError(`fraudRate: ${fraudRate}; expected a number from 0 to 0.5 (excluded)`);
    }
    const startMs = options.startMs ?? Date.UTC(2025, 0, 1);
    const worldRng = new Rng(options.seed ?? 1);
    this.world = buildWorld(
      {
        cards,
        merchants: options.merchants ?? 2000,
        rings: options.fraudRings ?? 40,
        startMs: options.worldStartMs ?? startMs,
      },
      worldRng,
    );
    this.rng = options.trafficSeed === undefined ? worldRng : new Rng(options.trafficSeed);
    this.delays = { ...DEFAULT_LABEL_DELAYS, ...options.labelDelays };
    this.emitLabels = options.labels ?? true;
    this.drift =
      options.drift && options.drift.length > 0 ? new DriftSchedule(options.drift) : null;
    this.inlineLabels = options.inlineLabels ?? false;
    this.queue = new EventQueue(options.pendingMax ?? 2_000_000);
    const weights = { ...DEFAULT_SCENARIO_WEIGHTS, ...options.scenarioWeights };
    this.scenarioWeights = FRAUD_SCENARIOS.map((s) => Math.max(0, weights[s]));
    const totalWeight = this.scenarioWeights.reduce((a, b) => a + b, 0);
    this.fraudPerStart =
      totalWeight > 0
        ? FRAUD_SCENARIOS.reduce(
            (sum, s, i) =>
              sum + ((this.scenarioWeights[i] ?? 0) / totalWeight) * EXPECTED_FRAUD_PER_START[s],
            0,
          )
        : 1;
    // Fraud F and legitimate L transactions: F / (F + L) = rate  <=>  F = L * rate / (1 - rate).
    this.fraudPerLegit = totalWeight > 0 ? fraudRate / (1 - fraudRate) : 0;
    this.candidateGapMs = DAY_MS / this.world.candidatesPerDay;
    this.nextCandidateMs = startMs + this.rng.exponential(this.candidateGapMs);
    this.stats = {
      transactions: 0,
      fraud: 0,
      fraudByScenario: {
        card_testing: 0,
        account_takeover: 0,
        stolen_card: 0,
        compromised_merchant: 0,
      },
      labels: 0,
      fraudUnreported: 0,
      dropped: 0,
    };
  }

  /** Event time of the next candidate legitimate transaction (a lower bound on the next item's). */
  get clockMs(): number {
    return Math.min(this.nextCandidateMs, this.queue.peekTimeMs());
  }

  /** Items still scheduled (future fraud and labels). */
  get pending(): number {
    return this.queue.size;
  }

  /** The next item in event-time order. */
  next(): SimulatedItem {
    for (;;) {
      if (this.queue.peekTimeMs() <= this.nextCandidateMs) {
        const due = this.queue.pop();
        if (!due) continue;
        if (due.item.kind === "label") return this.labelItem(due.item.label);
        return this.emit(due.item.parts, due.item.scenario);
      }
      // Event times are whole milliseconds, as the wire's timestamps are.
      const timeMs = Math.round(this.nextCandidateMs);
      this.nextCandidateMs += this.rng.exponential(this.candidateGapMs);
      const card = this.world.cards[this.rng.cumulative(this.world.cardWeights)] as Card;
      // Thinning: keep the candidate with the card's activity at this hour (its habits).
      const hour = Math.floor(timeMs / HOUR_MS) % 24;
      if (!this.rng.chance(card.activity[hour] ?? 0)) continue;
      const genuine = this.legitimate(card, timeMs);
      const drifted = this.drift?.apply(genuine, this.rng);
      const parts = drifted?.parts ?? genuine;
      const item = this.emit(parts, null, drifted?.fraud === true);
      this.maybeStartFraud(card, item.event, parts.merchant.index);
      return item;
    }
  }

  /**
   * The labels still scheduled, in no particular order: what a simulator that stops keeps for the
   * next run of the same world (`pending-labels.ts`), whose transactions are already in the log.
   */
  scheduledLabels(): Label[] {
    const labels: Label[] = [];
    for (const item of this.queue.items()) if (item.kind === "label") labels.push(item.label);
    return labels;
  }

  /**
   * Schedules labels an earlier run of this world left pending (`scheduledLabels`); each comes
   * out at its label time, among this run's items. Returns how many the bounded queue took.
   */
  scheduleLabels(labels: Iterable<Label>): number {
    let taken = 0;
    for (const label of labels) {
      if (this.queue.push(label.labelTimeMs, { kind: "label", label })) taken++;
      else this.stats.dropped++;
    }
    return taken;
  }

  /**
   * Labels still pending, in time order, without advancing the world: for a finite run that wants
   * every label its transactions will ever get. Scheduled fraud is discarded.
   */
  *drainLabels(): Generator<LabelItem> {
    for (let due = this.queue.pop(); due; due = this.queue.pop()) {
      if (due.item.kind === "label") yield this.labelItem(due.item.label);
    }
  }

  private labelItem(label: Label): LabelItem {
    this.stats.labels++;
    return {
      kind: "label",
      record: {
        key: encoder.encode(label.card_id),
        value: encodeLabel(label),
        timestampMs: label.labelTimeMs,
      },
      label,
    };
  }

  private emit(
    parts: TransactionParts,
    scenario: FraudScenario | null,
    driftFraud = false,
  ): TransactionItem {
    const isFraud = scenario !== null || driftFraud;
    const event = buildTransaction(parts, isFraud, this.inlineLabels, this.rng);
    const card = parts.card;
    card.lastTxMs = parts.timeMs;
    card.lastLat = event.location.lat;
    card.lastLon = event.location.lon;
    this.stats.transactions++;
    if (driftFraud) this.stats.fraud++;
    if (scenario) {
      this.stats.fraud++;
      this.stats.fraudByScenario[scenario]++;
    }
    if (this.emitLabels) {
      const delay = labelDelayMs(isFraud, this.delays, this.rng);
      if (delay === null) {
        if (isFraud) this.stats.fraudUnreported++;
      } else {
        const labelTimeMs = parts.timeMs + delay;
        const label: Label = {
          transaction_id: event.transaction_id,
          card_id: card.cardId,
          is_fraud: isFraud ? 1 : 0,
          label_time: new Date(labelTimeMs).toISOString(),
          kind: isFraud ? "chargeback" : "confirmed",
          labelTimeMs,
        };
        if (!this.queue.push(labelTimeMs, { kind: "label", label })) this.stats.dropped++;
      }
    }
    return {
      kind: "transaction",
      record: {
        key: encoder.encode(card.cardId),
        value: encodeTransaction(event),
        timestampMs: parts.timeMs,
      },
      event,
      fraud: scenario ?? (driftFraud ? "drift" : null),
    };
  }

  /** A genuine transaction of the card at `timeMs`, following its habits. */
  private legitimate(card: Card, timeMs: number): TransactionParts {
    const { rng, world } = this;
    this.updateTrip(card, timeMs);
    const trip = card.trip;
    let merchant: Merchant;
    if (trip && rng.chance(0.8)) {
      merchant = this.merchantAt(world.byCity[trip.city], card);
    } else if (rng.chance(0.85) && card.favourites.length > 0) {
      merchant = world.merchants[
        card.favourites[rng.cumulative(card.favouriteWeights)] ?? 0
      ] as Merchant;
    } else {
      merchant = this.merchantAt(rng.chance(0.7) ? world.byCity[card.city] : world.online, card);
    }
    // In store: at the shop. Online: wherever the cardholder is.
    const here = trip ? CITIES[trip.city] : undefined;
    const lat = merchant.online
      ? (here ? here.lat : card.homeLat) + rng.normal(0, 0.03)
      : merchant.lat;
    const lon = merchant.online
      ? (here ? here.lon : card.homeLon) + rng.normal(0, 0.04)
      : merchant.lon;

    if (rng.chance(NEW_DEVICE_PROBABILITY)) {
      // A new phone: it becomes the main device; the oldest is forgotten beyond the bound.
      card.devices.unshift(randomDevice(rng));
      if (card.devices.length > DEVICES_PER_CARD_MAX) card.devices.pop();
    }
    const device =
      card.devices[rng.chance(0.7) ? 0 : rng.int(0, card.devices.length - 1)] ?? randomDevice(rng);
    const ip = trip
      ? trip.ip
      : rng.chance(NEW_NETWORK_PROBABILITY)
        ? rng.ipv4()
        : rng.pick(card.ips);

    const type = TYPES[rng.weighted(TYPE_WEIGHTS)] ?? "purchase";
    let method: PaymentMethod = card.primaryMethod;
    if (type === "transfer" || type === "deposit") method = "bank_transfer";
    else if (merchant.online && card.paypalUser && rng.chance(0.4)) method = "paypal";
    else if (rng.chance(0.005)) method = "crypto";

    const factor = CATEGORY_AMOUNT_FACTOR[merchant.category] ?? 1;
    return {
      timeMs,
      card,
      merchant,
      amountUsd: Math.min(
        20_000,
        Math.max(0.5, rng.lognormal(card.amountMedianUsd * factor, card.amountSigma)),
      ),
      lat,
      lon,
      device,
      ip,
      type,
      method,
      cvvProvided: rng.chance(0.98),
      billingAddressMatch: merchant.online ? rng.chance(0.96) : rng.chance(0.995),
    };
  }

  private merchantAt(list: World["byCity"][number] | undefined, card: Card): Merchant {
    const index = list ? pickMerchant(list, this.rng) : -1;
    return (
      this.world.merchants[index] ?? (this.world.merchants[card.favourites[0] ?? 0] as Merchant)
    );
  }

  /**
   * Trips: a cardholder sometimes travels to another city for days. A trip starts (and ends) only
   * when the time since the card's last transaction allows the flight, so genuine travel never
   * looks impossible.
   */
  private updateTrip(card: Card, timeMs: number): void {
    const { rng } = this;
    const sinceLastHours = (timeMs - card.lastTxMs) / HOUR_MS;
    if (card.trip) {
      if (timeMs < card.trip.untilMs) return;
      const away = CITIES[card.trip.city];
      const km = away ? haversineKm(away.lat, away.lon, card.homeLat, card.homeLon) : 0;
      if (sinceLastHours >= km / FLIGHT_KMH + 2) card.trip = null;
      return;
    }
    if (!rng.chance(TRIP_PROBABILITY)) return;
    const city = rng.weighted(CITIES.map((c) => c.weight));
    const destination = CITIES[city];
    if (city === card.city || !destination) return;
    const km = haversineKm(card.lastLat, card.lastLon, destination.lat, destination.lon);
    if (sinceLastHours < km / FLIGHT_KMH + 2) return;
    card.trip = { city, untilMs: timeMs + rng.uniform(2, 10) * DAY_MS, ip: rng.ipv4() };
  }

  /** After a genuine transaction: maybe a breach victim, maybe a new fraud episode. */
  private maybeStartFraud(card: Card, tx: Transaction, merchantIndex: number): void {
    const { rng } = this;
    this.closeExpiredBreaches(tx.timeMs);
    const breach = this.breaches.get(merchantIndex);
    const inEpisode = tx.timeMs < card.fraudUntilMs;
    if (breach && breach.victimsLeft > 0 && !inEpisode) {
      breach.victimsLeft--;
      this.fraudPlanned -= BREACH_VICTIM_EXPECTED_FRAUD;
      this.schedule(planBreachVictim(this.context(card, tx)), "compromised_merchant");
      return;
    }
    // The rate is held by accounting rather than a coin per transaction: an episode starts when
    // the fraud planned so far falls behind the target (by a random margin, so starts are not
    // periodic). A coin would miss the target by ±20 % over a few hundred episodes.
    this.fraudOwed += this.fraudPerLegit * (this.drift?.fraudFactor(tx.timeMs) ?? 1);
    const owed = this.fraudOwed - this.fraudPlanned;
    if (inEpisode || owed < rng.uniform(0, 2 * this.fraudPerStart)) return;
    const scenario = FRAUD_SCENARIOS[rng.weighted(this.scenarioWeights)] ?? "card_testing";
    const ctx = this.context(card, tx);
    switch (scenario) {
      case "card_testing":
        this.schedule(planCardTesting(ctx), scenario);
        break;
      case "account_takeover":
        this.schedule(planAccountTakeover(ctx), scenario);
        break;
      case "stolen_card":
        this.schedule(planStolenCard(ctx), scenario);
        break;
      case "compromised_merchant": {
        // This card is the first victim; the next ones are the merchant's next customers.
        const victims = rng.int(BREACH_VICTIMS_MIN, BREACH_VICTIMS_MAX);
        if (this.breaches.size < BREACHES_MAX && !this.breaches.has(merchantIndex)) {
          this.breaches.set(merchantIndex, {
            untilMs: tx.timeMs + BREACH_WINDOW_MS,
            victimsLeft: victims - 1,
          });
          this.fraudPlanned += (victims - 1) * BREACH_VICTIM_EXPECTED_FRAUD;
        }
        this.schedule(planBreachVictim(ctx), scenario);
        break;
      }
    }
  }

  private context(card: Card, tx: Transaction): EpisodeContext {
    return {
      world: this.world,
      rng: this.rng,
      card,
      timeMs: tx.timeMs,
      lat: tx.location.lat,
      lon: tx.location.lon,
    };
  }

  /** Breaches past their window stop finding victims; their unfound victims are no longer owed. */
  private closeExpiredBreaches(nowMs: number): void {
    // Every breach has the same window, so the Map's insertion order is also expiry order.
    for (const [merchant, breach] of this.breaches) {
      if (nowMs <= breach.untilMs) break;
      this.fraudPlanned -= breach.victimsLeft * BREACH_VICTIM_EXPECTED_FRAUD;
      this.breaches.delete(merchant);
    }
  }

  private schedule(plan: TransactionParts[], scenario: FraudScenario): void {
    this.fraudPlanned += plan.length;
    for (const parts of plan) {
      if (!this.queue.push(parts.timeMs, { kind: "fraud", parts, scenario })) this.stats.dropped++;
      parts.card.fraudUntilMs = Math.max(parts.card.fraudUntilMs, parts.timeMs);
    }
  }
}
