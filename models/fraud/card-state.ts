/**
 * A card's entity state: what the shard keeps per card between events, and its pure update.
 *
 * Fixed size by construction, so memory per card is bounded whatever the history (target ≤ 1 KB
 * of heap, measured by bench/fraud-features.ts): scalars as plain number fields, and one
 * Uint32Array of 144 slots for
 * - a ring of the last {@link RING_SIZE} transactions (time in seconds, amount in cents) from which
 *   the 1 min / 1 h / 24 h windows are exact, saturating at {@link RING_SIZE} transactions;
 * - recency-ordered sets of the last 32 merchants, 8 devices and 16 IPs, as 32-bit hashes;
 * - a 24-bin histogram of the hour of day (UTC) of the card's transactions.
 * One typed array rather than several, because each typed array costs ~70 bytes of overhead.
 */
import { toUnitVector } from "./geo.ts";
import { hash32 } from "./hash.ts";
import { PRODUCT_CATEGORIES, type Transaction, type TransactionEvent } from "./schema.ts";

/** Transactions remembered for windowed counts; also the number of bits in the ring masks. */
export const RING_SIZE = 32;
export const MERCHANTS_REMEMBERED = 32;
export const DEVICES_REMEMBERED = 8;
export const IPS_REMEMBERED = 16;
export const HOUR_BINS = 24;
/** A histogram bin reaching this halves every bin: bounded counts that favour recent habits. */
const HOUR_COUNT_MAX = 1000;
/** Weight of a new location in the moving "home" estimate (~20 transactions of memory). */
const HOME_WEIGHT = 0.05;

/** Offsets into {@link CardState.slots}. */
export const SLOT_TIMES = 0;
export const SLOT_AMOUNTS = SLOT_TIMES + RING_SIZE;
export const SLOT_MERCHANTS = SLOT_AMOUNTS + RING_SIZE;
export const SLOT_DEVICES = SLOT_MERCHANTS + MERCHANTS_REMEMBERED;
export const SLOT_IPS = SLOT_DEVICES + DEVICES_REMEMBERED;
export const SLOT_HOURS = SLOT_IPS + IPS_REMEMBERED;
export const SLOT_COUNT = SLOT_HOURS + HOUR_BINS;

export interface CardState {
  /** Transactions applied so far. */
  count: number;
  /** Welford running mean and sum of squared deviations of ln(1 + amount). */
  amountMeanLog: number;
  amountM2Log: number;
  /** The previous transaction: time and place. */
  lastTimeMs: number;
  lastLat: number;
  lastLon: number;
  /** Moving average of the unit vectors of past locations: the card's "home" direction. */
  homeX: number;
  homeY: number;
  homeZ: number;
  /** Bit i set: the card bought in PRODUCT_CATEGORIES[i] before. */
  categoryMask: number;
  /** Bit i set: ring slot i had `cvv_provided` false. */
  cvvMissingMask: number;
  /** Bit i set: ring slot i was at a merchant new to the card. */
  newMerchantMask: number;
  /** Ring, novelty sets and hour histogram; see the SLOT_* offsets. */
  slots: Uint32Array;
}

const CATEGORY_INDEX: ReadonlyMap<string, number> = new Map(
  PRODUCT_CATEGORIES.map((category, index) => [category, index]),
);

/** The state of a card never seen before. */
export function initialCardState(): CardState {
  return {
    count: 0,
    amountMeanLog: 0,
    amountM2Log: 0,
    lastTimeMs: 0,
    lastLat: 0,
    lastLon: 0,
    homeX: 0,
    homeY: 0,
    homeZ: 0,
    categoryMask: 0,
    cvvMissingMask: 0,
    newMerchantMask: 0,
    slots: new Uint32Array(SLOT_COUNT),
  };
}

/** A deep copy, so an update may mutate it while the caller keeps the original. */
export function cloneCardState(state: CardState): CardState {
  return {
    count: state.count,
    amountMeanLog: state.amountMeanLog,
    amountM2Log: state.amountM2Log,
    lastTimeMs: state.lastTimeMs,
    lastLat: state.lastLat,
    lastLon: state.lastLon,
    homeX: state.homeX,
    homeY: state.homeY,
    homeZ: state.homeZ,
    categoryMask: state.categoryMask,
    cvvMissingMask: state.cvvMissingMask,
    newMerchantMask: state.newMerchantMask,
    slots: state.slots.slice(),
  };
}

/** The identity of the device: its fingerprint, or what the original's producers send instead. */
export function deviceHash(tx: TransactionEvent): number {
  return hash32(tx.device_id ?? `${tx.device_info.os}|${tx.device_info.browser}|${tx.user_agent}`);
}

export function merchantHash(tx: TransactionEvent): number {
  return hash32(tx.merchant_id);
}

export function ipHash(tx: TransactionEvent): number {
  return hash32(tx.ip_address);
}

export function categoryIndex(tx: TransactionEvent): number {
  return CATEGORY_INDEX.get(tx.product_category) ?? PRODUCT_CATEGORIES.length - 1;
}

/** Whether a hash is in the set of `size` slots starting at `base`. */
export function setContains(slots: Uint32Array, base: number, size: number, hash: number): boolean {
  for (let i = base; i < base + size; i++) if (slots[i] === hash) return true;
  return false;
}

/**
 * Moves `hash` to the front of the recency-ordered set (inserting it, and forgetting the least
 * recently seen entry when full). Returns whether it was already there. LRU rather than FIFO, so
 * a favourite merchant is never forgotten however many others the card visits once.
 */
function touch(slots: Uint32Array, base: number, size: number, hash: number): boolean {
  let found = size - 1;
  let present = false;
  for (let i = 0; i < size; i++) {
    if (slots[base + i] === hash) {
      found = i;
      present = true;
      break;
    }
  }
  slots.copyWithin(base + 1, base, base + found);
  slots[base] = hash;
  return present;
}

/** UTC hour of day of an event time, 0 to 23. */
export function hourOfDay(timeMs: number): number {
  return Math.floor(timeMs / 3_600_000) % 24;
}

/**
 * Applies one transaction to `state`, mutating it. The hot path of the shard's update after a
 * copy ({@link updateCardState}); replay and benchmarks that own their states may call it directly.
 */
export function applyTransaction(state: CardState, tx: Transaction): CardState {
  const slots = state.slots;
  const slot = state.count % RING_SIZE;
  const bit = 1 << slot;

  const newMerchant = !touch(slots, SLOT_MERCHANTS, MERCHANTS_REMEMBERED, merchantHash(tx));
  touch(slots, SLOT_DEVICES, DEVICES_REMEMBERED, deviceHash(tx));
  touch(slots, SLOT_IPS, IPS_REMEMBERED, ipHash(tx));

  // Seconds fit a u32 until 2106; later times clamp (the windows then see one instant).
  slots[SLOT_TIMES + slot] = Math.min(0xffff_ffff, Math.max(0, Math.floor(tx.timeMs / 1000)));
  slots[SLOT_AMOUNTS + slot] = Math.round(tx.amount * 100);
  state.cvvMissingMask = tx.cvv_provided ? state.cvvMissingMask & ~bit : state.cvvMissingMask | bit;
  state.newMerchantMask = newMerchant ? state.newMerchantMask | bit : state.newMerchantMask & ~bit;
  state.categoryMask |= 1 << categoryIndex(tx);

  const hourSlot = SLOT_HOURS + hourOfDay(tx.timeMs);
  const hourCount = (slots[hourSlot] ?? 0) + 1;
  slots[hourSlot] = hourCount;
  if (hourCount >= HOUR_COUNT_MAX) {
    for (let i = SLOT_HOURS; i < SLOT_HOURS + HOUR_BINS; i++) slots[i] = (slots[i] ?? 0) >>> 1;
  }

  // Welford: numerically stable running mean and variance, on the log scale because amounts are
  // lognormal (a z-score of a raw amount is dominated by a few large purchases).
  const x = Math.log1p(tx.amount);
  const n = state.count + 1;
  const delta = x - state.amountMeanLog;
  state.amountMeanLog += delta / n;
  state.amountM2Log += delta * (x - state.amountMeanLog);

  const [ux, uy, uz] = toUnitVector(tx.location.lat, tx.location.lon);
  const weight = state.count === 0 ? 1 : HOME_WEIGHT;
  state.homeX += weight * (ux - state.homeX);
  state.homeY += weight * (uy - state.homeY);
  state.homeZ += weight * (uz - state.homeZ);

  state.lastTimeMs = tx.timeMs;
  state.lastLat = tx.location.lat;
  state.lastLon = tx.location.lon;
  state.count = n;
  return state;
}

/**
 * The pure update: returns a new state and leaves `state` untouched (it copies, then applies), so
 * the shard's observers can compute features from the state before the event.
 *
 * @example const after = updateCardState(before, tx); // before is unchanged
 */
export function updateCardState(state: CardState, tx: Transaction): CardState {
  return applyTransaction(cloneCardState(state), tx);
}
