/**
 * A card's state as an analyst reads it: what the entity query and the dashboard's entity lookup
 * show above the raw state. The raw state (card-state.ts) is packed for the shard (one typed array
 * of ring, hash sets and hour histogram, a home kept as a unit vector); this unpacks it into times,
 * amounts, places and names. Read-only: nothing here feeds the features.
 */
import {
  type CardState,
  DEVICES_REMEMBERED,
  HOUR_BINS,
  IPS_REMEMBERED,
  MERCHANTS_REMEMBERED,
  RING_SIZE,
  SLOT_AMOUNTS,
  SLOT_DEVICES,
  SLOT_HOURS,
  SLOT_IPS,
  SLOT_MERCHANTS,
  SLOT_TIMES,
} from "./card-state.ts";
import { fromVector } from "./geo.ts";
import { PRODUCT_CATEGORIES } from "./schema.ts";

/** An hour counts as usual for the card from this share of its busiest hour's weight. */
const USUAL_HOUR_SHARE = 0.5;

export interface CardSummary {
  transactions: number;
  /** The card's last transaction: time (ISO-8601, event time) and place. */
  last: { time: string; lat: number; lon: number } | null;
  /** Where the card usually is: the moving average of its places. */
  home: { lat: number; lon: number } | null;
  /** exp(mean of ln(1 + amount)) − 1: the typical amount, on the log scale the features use. */
  typical_amount: number;
  /** The last transactions the windows count (at most 32), newest first; times to the second. */
  recent: { time: string; amount: number; cvv_missing: boolean; new_merchant: boolean }[];
  /** Product categories the card has bought in. */
  categories: string[];
  /** Hours of day (UTC) with at least half the busiest hour's weight, ascending. */
  usual_hours_utc: number[];
  /** How many distinct merchants, devices and IPs the card remembers (its novelty sets). */
  remembered: { merchants: number; devices: number; ips: number };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function occupied(slots: Uint32Array, base: number, size: number): number {
  let n = 0;
  for (let i = base; i < base + size; i++) if (slots[i] !== 0) n++;
  return n;
}

export function cardSummary(state: CardState): CardSummary {
  const { slots, count } = state;
  const recent: CardSummary["recent"] = [];
  for (let k = 1; k <= Math.min(count, RING_SIZE); k++) {
    const slot = (count - k) % RING_SIZE;
    recent.push({
      time: new Date((slots[SLOT_TIMES + slot] ?? 0) * 1000).toISOString(),
      amount: (slots[SLOT_AMOUNTS + slot] ?? 0) / 100,
      cvv_missing: ((state.cvvMissingMask >>> slot) & 1) === 1,
      new_merchant: ((state.newMerchantMask >>> slot) & 1) === 1,
    });
  }
  let busiest = 0;
  for (let h = 0; h < HOUR_BINS; h++) busiest = Math.max(busiest, slots[SLOT_HOURS + h] ?? 0);
  const usualHours: number[] = [];
  for (let h = 0; h < HOUR_BINS && busiest > 0; h++) {
    if ((slots[SLOT_HOURS + h] ?? 0) >= USUAL_HOUR_SHARE * busiest) usualHours.push(h);
  }
  const home = fromVector(state.homeX, state.homeY, state.homeZ);
  return {
    transactions: count,
    last:
      count > 0
        ? { time: new Date(state.lastTimeMs).toISOString(), lat: state.lastLat, lon: state.lastLon }
        : null,
    home: count > 0 ? { lat: round(home.lat, 4), lon: round(home.lon, 4) } : null,
    typical_amount: round(Math.expm1(state.amountMeanLog), 2),
    recent,
    categories: PRODUCT_CATEGORIES.filter((_, i) => ((state.categoryMask >>> i) & 1) === 1),
    usual_hours_utc: usualHours,
    remembered: {
      merchants: occupied(slots, SLOT_MERCHANTS, MERCHANTS_REMEMBERED),
      devices: occupied(slots, SLOT_DEVICES, DEVICES_REMEMBERED),
      ips: occupied(slots, SLOT_IPS, IPS_REMEMBERED),
    },
  };
}
