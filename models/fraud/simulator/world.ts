/**
 * The persistent population of the simulated world: merchants, cardholders with their cards and
 * habits, and fraud rings. Built once from the seed; cards then keep a little mutable context
 * (where they are, their last transaction, an ongoing trip or fraud episode).
 */
import type { Currency, PaymentMethod, ProductCategory } from "../schema.ts";
import { CITIES, type City, FRAUD_CITIES } from "./cities.ts";
import { type Device, randomDevice } from "./devices.ts";
import type { Rng } from "./random.ts";

export interface Merchant {
  index: number;
  id: string;
  category: ProductCategory;
  online: boolean;
  /** Home city (index into CITIES) of a physical merchant; -1 online. */
  city: number;
  lat: number;
  lon: number;
  /** 0 low, 1 medium, 2 high: weak checks, attractive to fraudsters. */
  risk: 0 | 1 | 2;
  /** Relative traffic. */
  popularity: number;
}

export interface Trip {
  city: number;
  untilMs: number;
  ip: string;
}

export interface Card {
  index: number;
  cardId: string;
  userId: string;
  accountCreatedMs: number;
  city: number;
  homeLat: number;
  homeLon: number;
  currency: Currency;
  /** Typical purchase in USD (the median of its lognormal) and the spread of its log. */
  amountMedianUsd: number;
  amountSigma: number;
  /** Legitimate transactions per day, on average. */
  ratePerDay: number;
  /** Relative activity per UTC hour, max 1 (the card's active hours, shifted to UTC). */
  activity: Float64Array;
  /** Mean of `activity`: candidate events are thinned by it, so `ratePerDay` holds on average. */
  meanActivity: number;
  devices: Device[];
  ips: string[];
  /** Favourite merchants (indices) and their cumulative weights. */
  favourites: Int32Array;
  favouriteWeights: Float64Array;
  primaryMethod: PaymentMethod;
  paypalUser: boolean;
  // Mutable context.
  trip: Trip | null;
  lastTxMs: number;
  lastLat: number;
  lastLon: number;
  /** No new fraud episode for this card before this time. */
  fraudUntilMs: number;
}

export interface FraudRing {
  city: City;
  devices: Device[];
  ips: string[];
}

export interface World {
  merchants: Merchant[];
  /** Physical merchants per city and their cumulative popularity. */
  byCity: { indices: Int32Array; weights: Float64Array }[];
  online: { indices: Int32Array; weights: Float64Array };
  /** Online merchants by category, for fraud that targets a kind of goods. */
  onlineByCategory: Map<ProductCategory, Int32Array>;
  cards: Card[];
  /** Cumulative candidate rates of the cards (ratePerDay / meanActivity). */
  cardWeights: Float64Array;
  /** Sum of candidate rates, per day. */
  candidatesPerDay: number;
  rings: FraudRing[];
}

export interface WorldOptions {
  cards: number;
  merchants: number;
  rings: number;
  startMs: number;
}

const PHYSICAL_CATEGORIES: readonly ProductCategory[] = [
  "groceries",
  "clothing",
  "services",
  "electronics",
  "travel",
  "luxury_items",
  "other",
  "gambling",
];
const PHYSICAL_WEIGHTS = [30, 15, 14, 9, 5, 4, 20, 3];
const ONLINE_CATEGORIES: readonly ProductCategory[] = [
  "digital_goods",
  "electronics",
  "clothing",
  "travel",
  "services",
  "gambling",
  "luxury_items",
  "other",
];
const ONLINE_WEIGHTS = [28, 15, 15, 14, 10, 8, 5, 5];
/** Share of merchants that sell online only. */
const ONLINE_SHARE = 0.25;
const DAY_MS = 86_400_000;

function cumulative(weights: readonly number[]): Float64Array {
  const out = new Float64Array(weights.length);
  let total = 0;
  weights.forEach((w, i) => {
    total += w;
    out[i] = total;
  });
  return out;
}

function riskFor(category: ProductCategory, rng: Rng): 0 | 1 | 2 {
  const risky = category === "digital_goods" || category === "gambling";
  const u = rng.float();
  if (u < (risky ? 0.3 : 0.05)) return 2;
  if (u < (risky ? 0.7 : 0.25)) return 1;
  return 0;
}

function buildMerchants(count: number, rng: Rng): Merchant[] {
  const cityWeights = CITIES.map((c) => c.weight);
  const merchants: Merchant[] = [];
  for (let i = 0; i < count; i++) {
    const online = rng.chance(ONLINE_SHARE);
    const category = online
      ? (ONLINE_CATEGORIES[rng.weighted(ONLINE_WEIGHTS)] ?? "other")
      : (PHYSICAL_CATEGORIES[rng.weighted(PHYSICAL_WEIGHTS)] ?? "other");
    const city = online ? -1 : rng.weighted(cityWeights);
    const base = CITIES[Math.max(0, city)] ?? CITIES[0];
    // Physical merchants spread over ~15 km around the centre; online ones have no place.
    const lat = online ? 0 : (base?.lat ?? 0) + rng.normal(0, 0.06);
    const lon = online ? 0 : (base?.lon ?? 0) + rng.normal(0, 0.08);
    merchants.push({
      index: i,
      id: `merchant_${i + 1}`,
      category,
      online,
      city,
      lat,
      lon,
      risk: riskFor(category, rng),
      // Zipf-like: a few merchants get much of the traffic.
      popularity: 1 / (1 + rng.exponential(4)) ** 1.5,
    });
  }
  return merchants;
}

function indexMerchants(merchants: Merchant[], keep: (m: Merchant) => boolean) {
  const chosen = merchants.filter(keep);
  return {
    indices: Int32Array.from(chosen.map((m) => m.index)),
    weights: cumulative(chosen.map((m) => m.popularity)),
  };
}

/** Relative activity per UTC hour for a card whose local peak hour and sharpness are given. */
function activityCurve(
  peakLocalHour: number,
  sharpness: number,
  utcOffsetHours: number,
): Float64Array {
  const curve = new Float64Array(24);
  let max = 0;
  for (let utc = 0; utc < 24; utc++) {
    const local = utc + utcOffsetHours;
    const weight =
      0.02 + Math.exp(sharpness * Math.cos((2 * Math.PI * (local - peakLocalHour)) / 24));
    curve[utc] = weight;
    if (weight > max) max = weight;
  }
  for (let h = 0; h < 24; h++) curve[h] = (curve[h] ?? 0) / max;
  return curve;
}

function pickFrom(list: { indices: Int32Array; weights: Float64Array }, rng: Rng): number {
  if (list.indices.length === 0) return -1;
  return list.indices[rng.cumulative(list.weights)] ?? -1;
}

function buildCard(
  index: number,
  world: Omit<World, "cards" | "cardWeights" | "candidatesPerDay" | "rings">,
  options: WorldOptions,
  rng: Rng,
): Card {
  const cityIndex = rng.weighted(CITIES.map((c) => c.weight));
  const city = CITIES[cityIndex] ?? (CITIES[0] as City);
  const homeLat = city.lat + rng.normal(0, 0.05);
  const homeLon = city.lon + rng.normal(0, 0.07);
  const peak = rng.normal(15, 2.5);
  const activity = activityCurve(peak, rng.uniform(0.8, 2.5), city.utcOffsetHours);
  let meanActivity = 0;
  for (let h = 0; h < 24; h++) meanActivity += (activity[h] ?? 0) / 24;

  const devices: Device[] = [];
  const deviceCount = rng.weighted([55, 35, 10]) + 1;
  for (let d = 0; d < deviceCount; d++) devices.push(randomDevice(rng));
  const ips: string[] = [];
  const ipCount = rng.weighted([40, 40, 20]) + 1;
  for (let d = 0; d < ipCount; d++) ips.push(rng.ipv4());

  // Favourites: mostly shops in the home city, some online ones; no duplicates.
  const favouriteCount = rng.int(6, 16);
  const favourites: number[] = [];
  const local = world.byCity[cityIndex] ?? world.online;
  for (
    let attempt = 0;
    favourites.length < favouriteCount && attempt < favouriteCount * 4;
    attempt++
  ) {
    const merchant = pickFrom(rng.chance(0.7) ? local : world.online, rng);
    if (merchant >= 0 && !favourites.includes(merchant)) favourites.push(merchant);
  }
  const favouriteWeights = cumulative(favourites.map((_, rank) => 1 / (rank + 1)));

  const createdMs = options.startMs - rng.int(0, 5 * 365) * DAY_MS - rng.int(0, DAY_MS - 1);
  return {
    index,
    cardId: rng.uuid(),
    userId: rng.uuid(),
    accountCreatedMs: createdMs,
    city: cityIndex,
    homeLat,
    homeLon,
    currency: city.currency,
    amountMedianUsd: rng.lognormal(35, 0.5),
    amountSigma: rng.uniform(0.5, 0.9),
    ratePerDay: Math.min(40, Math.max(0.1, rng.lognormal(2, 0.7))),
    activity,
    meanActivity,
    devices,
    ips,
    favourites: Int32Array.from(favourites),
    favouriteWeights,
    primaryMethod: rng.chance(0.6) ? "credit_card" : "debit_card",
    paypalUser: rng.chance(0.35),
    trip: null,
    lastTxMs: Number.NEGATIVE_INFINITY,
    lastLat: homeLat,
    lastLon: homeLon,
    fraudUntilMs: Number.NEGATIVE_INFINITY,
  };
}

function buildRing(rng: Rng): FraudRing {
  const city = FRAUD_CITIES[rng.int(0, FRAUD_CITIES.length - 1)] ?? (FRAUD_CITIES[0] as City);
  const devices: Device[] = [];
  for (let i = rng.int(1, 3); i > 0; i--) devices.push(randomDevice(rng));
  const ips: string[] = [];
  for (let i = rng.int(2, 5); i > 0; i--) ips.push(rng.ipv4());
  return { city, devices, ips };
}

/** Builds the world for a seed's random stream. */
export function buildWorld(options: WorldOptions, rng: Rng): World {
  const merchants = buildMerchants(options.merchants, rng);
  const byCity = CITIES.map((_, c) => indexMerchants(merchants, (m) => m.city === c));
  const online = indexMerchants(merchants, (m) => m.online);
  const grouped = new Map<ProductCategory, number[]>();
  for (const m of merchants) {
    if (!m.online) continue;
    const list = grouped.get(m.category) ?? [];
    list.push(m.index);
    grouped.set(m.category, list);
  }
  const onlineByCategory = new Map(
    [...grouped].map(([category, list]) => [category, Int32Array.from(list)] as const),
  );
  const partial = { merchants, byCity, online, onlineByCategory };
  const cards: Card[] = [];
  for (let i = 0; i < options.cards; i++) cards.push(buildCard(i, partial, options, rng));
  const cardWeights = cumulative(cards.map((c) => c.ratePerDay / c.meanActivity));
  const rings: FraudRing[] = [];
  for (let i = 0; i < options.rings; i++) rings.push(buildRing(rng));
  return {
    ...partial,
    cards,
    cardWeights,
    candidatesPerDay: cardWeights[cardWeights.length - 1] ?? 0,
    rings,
  };
}

/** A merchant drawn by popularity from a list, or -1 when it is empty. */
export function pickMerchant(
  list: { indices: Int32Array; weights: Float64Array },
  rng: Rng,
): number {
  return pickFrom(list, rng);
}
