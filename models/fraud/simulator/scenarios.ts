/**
 * The fraud scenarios: each plans the fraudulent transactions of one episode on one card, with
 * the traces a per-card model can learn from (docs/fraud.md, "Scenarios").
 *
 * - card testing: a burst of tiny amounts at merchants new to the card, mostly digital goods, then
 *   sometimes a cash-out purchase;
 * - account takeover: a new device and IP, then large amounts;
 * - stolen (cloned) card: used in a far city minutes after the genuine card was used at home,
 *   an implied speed above 1000 km/h;
 * - compromised merchant: cards used at a breached merchant are defrauded hours to days later
 *   (card not present, new device and IP). The breach itself is tracked by the simulation; this
 *   module plans each victim's episode.
 *
 * Rings act from their own cities, far from most of their victims, except when they route
 * card-not-present fraud through a residential proxy in the cardholder's own city
 * ({@link LOCAL_PROXY_SHARE} of such episodes), as rings do to get past location rules: then only
 * the scenario's own traces (a new device and IP, a burst of tiny amounts, unusual amounts) tell
 * the fraud from the card's habits, and a model cannot lean on where it happens.
 */

import { haversineKm } from "../geo.ts";
import type { PaymentMethod, ProductCategory, TransactionType } from "../schema.ts";
import { CITIES } from "./cities.ts";
import type { Device } from "./devices.ts";
import type { Rng } from "./random.ts";
import type { TransactionParts } from "./transaction.ts";
import { type Card, type FraudRing, type Merchant, pickMerchant, type World } from "./world.ts";

export const FRAUD_SCENARIOS = [
  "card_testing",
  "account_takeover",
  "stolen_card",
  "compromised_merchant",
] as const;
export type FraudScenario = (typeof FRAUD_SCENARIOS)[number];

/** Share of fraud episodes started per scenario. */
export const DEFAULT_SCENARIO_WEIGHTS: Readonly<Record<FraudScenario, number>> = {
  card_testing: 0.3,
  account_takeover: 0.25,
  stolen_card: 0.25,
  compromised_merchant: 0.2,
};

/** Victims of one merchant breach. */
export const BREACH_VICTIMS_MIN = 3;
export const BREACH_VICTIMS_MAX = 8;

/**
 * Mean fraudulent transactions one episode start causes, from the plans below; the simulation
 * divides the target fraud rate by it to get the start probability. Keep in sync with the plans.
 */
export const EXPECTED_FRAUD_PER_START: Readonly<Record<FraudScenario, number>> = {
  card_testing: 6.5 + 0.5 * 1.5,
  account_takeover: 2.5,
  stolen_card: 4,
  compromised_merchant: ((BREACH_VICTIMS_MIN + BREACH_VICTIMS_MAX) / 2) * 2,
};

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

/** Card-not-present episodes whose ring geolocates in the cardholder's city (a local proxy). */
export const LOCAL_PROXY_SHARE = 0.4;

/** Where and when an episode starts: the card's transaction that triggered it. */
export interface EpisodeContext {
  world: World;
  rng: Rng;
  card: Card;
  timeMs: number;
  lat: number;
  lon: number;
}

/** A ring operating at least `minKm` from a point (or the farthest of a few tries). */
function ringFarFrom(ctx: EpisodeContext, minKm: number): FraudRing {
  let best: FraudRing | undefined;
  let bestKm = -1;
  for (let attempt = 0; attempt < 12; attempt++) {
    const ring = ctx.rng.pick(ctx.world.rings);
    const km = haversineKm(ctx.lat, ctx.lon, ring.city.lat, ring.city.lon);
    if (km >= minKm) return ring;
    if (km > bestKm) {
      best = ring;
      bestKm = km;
    }
  }
  return best ?? ctx.rng.pick(ctx.world.rings);
}

function onlineMerchant(ctx: EpisodeContext, categories: readonly ProductCategory[]): Merchant {
  const { world, rng } = ctx;
  const list = world.onlineByCategory.get(rng.pick(categories));
  // Fraudsters prefer weakly protected (high-risk) merchants: two draws, keep the riskier.
  const draw = (): Merchant | undefined =>
    list && list.length > 0
      ? world.merchants[list[rng.int(0, list.length - 1)] ?? 0]
      : world.merchants[pickMerchant(world.online, rng)];
  const a = draw();
  const b = draw();
  const chosen = a && b ? (b.risk > a.risk ? b : a) : (a ?? b);
  return chosen ?? (world.merchants[0] as Merchant);
}

function ringPlace(ring: FraudRing, rng: Rng): { lat: number; lon: number } {
  return { lat: ring.city.lat + rng.normal(0, 0.05), lon: ring.city.lon + rng.normal(0, 0.07) };
}

function cardMethod(card: Card, rng: Rng): PaymentMethod {
  return card.paypalUser && rng.chance(0.3) ? "paypal" : card.primaryMethod;
}

interface RingIdentity {
  device: Device;
  ip: string;
  lat: number;
  lon: number;
}

/**
 * The device, IP and place a ring uses for one card-not-present episode: its own city's, or, for
 * {@link LOCAL_PROXY_SHARE} of them, a residential proxy's near the cardholder's home (the device
 * and IP are still the ring's, new to the card).
 */
function ringIdentity(ring: FraudRing, ctx: EpisodeContext): RingIdentity {
  const { rng, card } = ctx;
  const device = rng.pick(ring.devices);
  const ip = rng.pick(ring.ips);
  if (rng.chance(LOCAL_PROXY_SHARE)) {
    return {
      device,
      ip,
      lat: card.homeLat + rng.normal(0, 0.05),
      lon: card.homeLon + rng.normal(0, 0.07),
    };
  }
  return { device, ip, ...ringPlace(ring, rng) };
}

/** Card testing: 3 to 10 tiny charges seconds apart, then a cash-out half of the time. */
export function planCardTesting(ctx: EpisodeContext): TransactionParts[] {
  const { rng, card } = ctx;
  const who = ringIdentity(ringFarFrom(ctx, 0), ctx);
  const plan: TransactionParts[] = [];
  let timeMs = ctx.timeMs + MINUTE_MS + rng.exponential(3 * HOUR_MS);
  const count = rng.int(3, 10);
  for (let i = 0; i < count; i++) {
    const merchant = onlineMerchant(
      ctx,
      rng.chance(0.7) ? ["digital_goods"] : ["gambling", "services", "other"],
    );
    plan.push({
      timeMs: Math.round(timeMs),
      card,
      merchant,
      amountUsd: rng.uniform(0.5, 3),
      ...who,
      type: "purchase",
      method: card.primaryMethod,
      cvvProvided: !rng.chance(0.6),
      billingAddressMatch: !rng.chance(0.5),
    });
    timeMs += rng.uniform(5_000, 90_000);
  }
  if (rng.chance(0.5)) {
    const cashOuts = rng.int(1, 2);
    timeMs += rng.uniform(HOUR_MS, 24 * HOUR_MS);
    for (let i = 0; i < cashOuts; i++) {
      plan.push({
        timeMs: Math.round(timeMs),
        card,
        merchant: onlineMerchant(ctx, ["electronics", "luxury_items"]),
        amountUsd: Math.min(6000, rng.lognormal(800, 0.5)),
        ...who,
        type: "purchase",
        method: card.primaryMethod,
        cvvProvided: rng.chance(0.7),
        billingAddressMatch: !rng.chance(0.6),
      });
      timeMs += rng.uniform(2 * MINUTE_MS, 30 * MINUTE_MS);
    }
  }
  return plan;
}

const TAKEOVER_TYPES: readonly TransactionType[] = [
  "purchase",
  "transfer",
  "withdrawal",
  "payment",
];
const TAKEOVER_TYPE_WEIGHTS = [45, 35, 10, 10];

/**
 * Account takeover: a new device and IP (a ring at least 1000 km from home, or its proxy near
 * home), then 1 to 4 large amounts.
 */
export function planAccountTakeover(ctx: EpisodeContext): TransactionParts[] {
  const { rng, card } = ctx;
  const ring = ringFarFrom({ ...ctx, lat: card.homeLat, lon: card.homeLon }, 1000);
  const who = ringIdentity(ring, ctx);
  const plan: TransactionParts[] = [];
  let timeMs = ctx.timeMs + 5 * MINUTE_MS + rng.exponential(6 * HOUR_MS);
  const count = rng.int(1, 4);
  for (let i = 0; i < count; i++) {
    const type = TAKEOVER_TYPES[rng.weighted(TAKEOVER_TYPE_WEIGHTS)] ?? "purchase";
    plan.push({
      timeMs: Math.round(timeMs),
      card,
      merchant: onlineMerchant(ctx, [
        "electronics",
        "luxury_items",
        "gambling",
        "travel",
        "digital_goods",
      ]),
      amountUsd: Math.min(8000, rng.lognormal(1200, 0.6)),
      ...who,
      type,
      method: type === "transfer" ? "bank_transfer" : cardMethod(card, rng),
      cvvProvided: rng.chance(0.85),
      billingAddressMatch: !rng.chance(0.6),
    });
    timeMs += MINUTE_MS + rng.exponential(15 * MINUTE_MS);
  }
  return plan;
}

/**
 * Stolen or cloned card: 2 to 6 in-store purchases in a city at least 2000 km from where the card
 * was just used, the first soon enough that the implied speed exceeds 1100 km/h.
 */
export function planStolenCard(ctx: EpisodeContext): TransactionParts[] {
  const { rng, card, world } = ctx;
  let cityIndex = -1;
  let distanceKm = 0;
  for (let attempt = 0; attempt < 20 && distanceKm < 2000; attempt++) {
    cityIndex = rng.int(0, CITIES.length - 1);
    const city = CITIES[cityIndex];
    distanceKm = city ? haversineKm(ctx.lat, ctx.lon, city.lat, city.lon) : 0;
  }
  const ring = rng.pick(world.rings);
  const device = rng.pick(ring.devices);
  const ip = rng.pick(ring.ips);
  const shops = world.byCity[cityIndex];
  // At most distance / 1100 km/h after the genuine use, at least 5 minutes.
  const gapMaxMinutes = Math.max(5, Math.min(120, (distanceKm / 1100) * 60));
  let timeMs = ctx.timeMs + rng.uniform(5, gapMaxMinutes) * MINUTE_MS;
  const plan: TransactionParts[] = [];
  const count = rng.int(2, 6);
  for (let i = 0; i < count; i++) {
    const index = shops ? pickMerchant(shops, rng) : -1;
    const merchant = world.merchants[index] ?? onlineMerchant(ctx, ["electronics"]);
    plan.push({
      timeMs: Math.round(timeMs),
      card,
      merchant,
      amountUsd: Math.min(5000, rng.lognormal(300, 0.7)),
      lat: merchant.online ? (CITIES[cityIndex]?.lat ?? 0) : merchant.lat,
      lon: merchant.online ? (CITIES[cityIndex]?.lon ?? 0) : merchant.lon,
      device,
      ip,
      type: rng.chance(0.85) ? "purchase" : "withdrawal",
      method: card.primaryMethod,
      cvvProvided: rng.chance(0.8),
      billingAddressMatch: rng.chance(0.9),
    });
    timeMs += rng.uniform(5, 45) * MINUTE_MS;
  }
  return plan;
}

/**
 * A breached merchant's victim: 1 to 3 card-not-present purchases from a fraud ring's device, a
 * day or so (3 hours to 7 days) after the card was used at the breached merchant.
 */
export function planBreachVictim(ctx: EpisodeContext): TransactionParts[] {
  const { rng, card } = ctx;
  const who = ringIdentity(rng.pick(ctx.world.rings), ctx);
  const delayMs = Math.min(
    7 * 24 * HOUR_MS,
    Math.max(3 * HOUR_MS, rng.lognormal(24 * HOUR_MS, 0.7)),
  );
  let timeMs = ctx.timeMs + delayMs;
  const plan: TransactionParts[] = [];
  const count = rng.int(1, 3);
  for (let i = 0; i < count; i++) {
    plan.push({
      timeMs: Math.round(timeMs),
      card,
      merchant: onlineMerchant(ctx, [
        "electronics",
        "clothing",
        "luxury_items",
        "digital_goods",
        "travel",
      ]),
      amountUsd: Math.min(5000, rng.lognormal(350, 0.6)),
      ...who,
      type: "purchase",
      method: cardMethod(card, rng),
      cvvProvided: rng.chance(0.5),
      billingAddressMatch: !rng.chance(0.4),
    });
    timeMs += 2 * MINUTE_MS + rng.exponential(30 * MINUTE_MS);
  }
  return plan;
}
