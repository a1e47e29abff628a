/**
 * Features of a card transaction, computed from the card's state BEFORE the transaction is applied
 * (point-in-time correct): what the model sees when scoring an event is exactly what the card's
 * history said at that moment, online (in the shard) and offline (in replay.ts) alike.
 *
 * The state and its pure update live in card-state.ts and are re-exported here; definitions of
 * every feature are in docs/fraud.md.
 */
import {
  type CardState,
  categoryIndex,
  DEVICES_REMEMBERED,
  deviceHash,
  HOUR_BINS,
  hourOfDay,
  IPS_REMEMBERED,
  ipHash,
  MERCHANTS_REMEMBERED,
  merchantHash,
  RING_SIZE,
  SLOT_AMOUNTS,
  SLOT_DEVICES,
  SLOT_HOURS,
  SLOT_IPS,
  SLOT_MERCHANTS,
  SLOT_TIMES,
  setContains,
} from "./card-state.ts";
import {
  CATEGORICAL_FEATURES,
  CATEGORICAL_NAMES,
  type FeatureSchema,
  NUMERIC_FEATURES,
  parseFeatureSchema,
} from "./feature-schema.ts";
import { fromVector, haversineKm } from "./geo.ts";
import type { Transaction } from "./schema.ts";

export {
  applyTransaction,
  type CardState,
  cloneCardState,
  initialCardState,
  updateCardState,
} from "./card-state.ts";
export {
  buildFeatureSchema,
  FEATURE_INDEX,
  FEATURE_VERSION,
  type FeatureSchema,
  NUMERIC_FEATURES,
  parseFeatureSchema,
  UNKNOWN_CATEGORY,
} from "./feature-schema.ts";

/** Shortest time used for the implied speed, so two near-simultaneous events do not divide by ~0. */
const SPEED_TIME_MIN_HOURS = 1 / 60;
/** Speeds are capped: anything above is equally impossible, and a bounded feature trains better. */
export const SPEED_KMH_MAX = 20_000;
const ZSCORE_STD_MIN = 0.05;
const ZSCORE_MAX = 50;
/** Laplace smoothing of the hour histogram: a card with no history gets 3/24 for every hour. */
const HOUR_PRIOR = 0.5;

interface Compiled {
  cols: number;
  numeric: number;
  /** Per categorical feature: value to code, and the first column of its block. */
  codes: Map<string, number>[];
  offsets: number[];
  onehot: boolean;
}

// A schema is compiled once (lookups built, names checked) and reused for every event.
const compiledSchemas = new WeakMap<FeatureSchema, Compiled>();

function compile(schema: FeatureSchema): Compiled {
  let compiled = compiledSchemas.get(schema);
  if (compiled) return compiled;
  // Refuse a schema this code does not compute (another version, other columns) once, up front.
  parseFeatureSchema(schema);
  const onehot = schema.encoding === "onehot";
  const codes: Map<string, number>[] = [];
  const offsets: number[] = [];
  let column = NUMERIC_FEATURES.length;
  for (const feature of CATEGORICAL_NAMES) {
    const values = schema.categories[feature] ?? [];
    codes.push(new Map(values.map((value, code) => [value, code])));
    offsets.push(column);
    column += onehot ? values.length : 1;
  }
  compiled = { cols: column, numeric: NUMERIC_FEATURES.length, codes, offsets, onehot };
  compiledSchemas.set(schema, compiled);
  return compiled;
}

/**
 * The features of `tx` given the card's state before it, in `schema.names` order. Pure: neither
 * argument is changed. Pass `out` (of `schema.names.length`) to avoid an allocation per event.
 *
 * @example
 * const features = computeFeatures(before, tx, schema);
 * const after = updateCardState(before, tx);
 */
export function computeFeatures(
  state: CardState,
  tx: Transaction,
  schema: FeatureSchema,
  out?: Float64Array,
): Float64Array {
  const compiled = compile(schema);
  const x = out ?? new Float64Array(compiled.cols);
  if (x.length !== compiled.cols) {
    throw new RangeError(`computeFeatures: out has ${x.length} columns; expected ${compiled.cols}`);
  }
  numericFeatures(state, tx, x);
  for (let j = 0; j < CATEGORICAL_NAMES.length; j++) {
    const feature = CATEGORICAL_NAMES[j] as keyof typeof CATEGORICAL_FEATURES;
    const code = compiled.codes[j]?.get(CATEGORICAL_FEATURES[feature](tx)) ?? 0;
    const offset = compiled.offsets[j] ?? 0;
    if (compiled.onehot) {
      const size = schema.categories[feature]?.length ?? 0;
      x.fill(0, offset, offset + size);
      x[offset + code] = 1;
    } else {
      x[offset] = code;
    }
  }
  return x;
}

/** Counts and sums over the card's recent transactions, as of `nowSeconds`. */
interface WindowAggregates {
  count1m: number;
  count1h: number;
  count24h: number;
  sum1m: number;
  sum1h: number;
  sum24h: number;
  /** -1 when no transaction in the last 24 h. */
  max24h: number;
  newMerchants1h: number;
  cvvMissing24h: number;
}

// One scratch result: this runs once per scored event, and the caller reads it at once.
const scratchWindows: WindowAggregates = {
  count1m: 0,
  count1h: 0,
  count24h: 0,
  sum1m: 0,
  sum1h: 0,
  sum24h: 0,
  max24h: -1,
  newMerchants1h: 0,
  cvvMissing24h: 0,
};

/**
 * Windows over the ring of the last RING_SIZE transactions. Ages are compared, not times, so an
 * event that arrives late (older than the last one) still counts as recent. Returns a shared
 * object: read it before the next call.
 */
function windowAggregates(state: CardState, nowSeconds: number): WindowAggregates {
  const slots = state.slots;
  const w = scratchWindows;
  w.count1m = w.count1h = w.count24h = 0;
  w.sum1m = w.sum1h = w.sum24h = 0;
  w.max24h = -1;
  w.newMerchants1h = w.cvvMissing24h = 0;
  const filled = Math.min(state.count, RING_SIZE);
  for (let i = 0; i < filled; i++) {
    const ageSeconds = nowSeconds - (slots[SLOT_TIMES + i] ?? 0);
    if (ageSeconds >= 86_400) continue;
    const amount = (slots[SLOT_AMOUNTS + i] ?? 0) / 100;
    w.count24h++;
    w.sum24h += amount;
    if (amount > w.max24h) w.max24h = amount;
    if ((state.cvvMissingMask >>> i) & 1) w.cvvMissing24h++;
    if (ageSeconds >= 3600) continue;
    w.count1h++;
    w.sum1h += amount;
    if ((state.newMerchantMask >>> i) & 1) w.newMerchants1h++;
    if (ageSeconds >= 60) continue;
    w.count1m++;
    w.sum1m += amount;
  }
  return w;
}

/**
 * The card's own features, from its state alone, as of its last transaction (event time): what
 * the entity query shows as "current features". Features of a new transaction also depend on the
 * transaction (its amount, place, merchant, device); the score endpoint returns those.
 */
export function cardFeatures(state: CardState): Record<string, number> {
  const nowSeconds = Math.floor(state.lastTimeMs / 1000);
  const w = windowAggregates(state, nowSeconds);
  const count = state.count;
  return {
    tx_count_1m: w.count1m,
    tx_count_1h: w.count1h,
    tx_count_24h: w.count24h,
    amount_sum_1m_log: Math.log1p(w.sum1m),
    amount_sum_1h_log: Math.log1p(w.sum1h),
    amount_sum_24h_log: Math.log1p(w.sum24h),
    amount_mean_log: state.amountMeanLog,
    amount_std_log: count >= 2 ? Math.sqrt(state.amountM2Log / (count - 1)) : 0,
    history_count_log: Math.log1p(count),
    new_merchant_count_1h: w.newMerchants1h,
    cvv_missing_count_24h: w.cvvMissing24h,
  };
}

/** Fills the numeric block (NUMERIC_FEATURES order) of `x`. */
function numericFeatures(state: CardState, tx: Transaction, x: Float64Array): void {
  const slots = state.slots;
  const count = state.count;
  const amountLog = Math.log1p(tx.amount);
  const nowSeconds = Math.floor(tx.timeMs / 1000);

  const w = windowAggregates(state, nowSeconds);
  const { count1m, count1h, count24h, sum1m, sum1h, sum24h, max24h } = w;
  const { newMerchants1h, cvvMissing24h } = w;

  const std = count >= 2 ? Math.sqrt(state.amountM2Log / (count - 1)) : 0;
  const zscore = count >= 2 ? (amountLog - state.amountMeanLog) / Math.max(std, ZSCORE_STD_MIN) : 0;

  let secondsSinceLast = 0;
  let distanceLastKm = 0;
  let speedKmh = 0;
  let distanceHomeKm = 0;
  if (count > 0) {
    secondsSinceLast = Math.max(0, (tx.timeMs - state.lastTimeMs) / 1000);
    distanceLastKm = haversineKm(state.lastLat, state.lastLon, tx.location.lat, tx.location.lon);
    const hours = Math.max(secondsSinceLast / 3600, SPEED_TIME_MIN_HOURS);
    speedKmh = Math.min(SPEED_KMH_MAX, distanceLastKm / hours);
    const home = fromVector(state.homeX, state.homeY, state.homeZ);
    distanceHomeKm = haversineKm(home.lat, home.lon, tx.location.lat, tx.location.lon);
  }

  const hour = hourOfDay(tx.timeMs);
  let hourTotal = 0;
  for (let i = SLOT_HOURS; i < SLOT_HOURS + HOUR_BINS; i++) hourTotal += slots[i] ?? 0;
  const near =
    (slots[SLOT_HOURS + ((hour + 23) % 24)] ?? 0) +
    (slots[SLOT_HOURS + hour] ?? 0) +
    (slots[SLOT_HOURS + ((hour + 1) % 24)] ?? 0);
  const hourFraction = (near + 3 * HOUR_PRIOR) / (hourTotal + HOUR_BINS * HOUR_PRIOR);

  const seen = count > 0;
  x[0] = amountLog;
  x[1] = count1m;
  x[2] = count1h;
  x[3] = count24h;
  x[4] = Math.log1p(sum1m);
  x[5] = Math.log1p(sum1h);
  x[6] = Math.log1p(sum24h);
  x[7] = state.amountMeanLog;
  x[8] = std;
  x[9] = Math.max(-ZSCORE_MAX, Math.min(ZSCORE_MAX, zscore));
  x[10] = max24h < 0 ? 1 : (1 + tx.amount) / (1 + max24h);
  x[11] = Math.log1p(count);
  x[12] = seen ? 0 : 1;
  x[13] = Math.log1p(secondsSinceLast);
  x[14] = distanceLastKm;
  x[15] = speedKmh;
  x[16] = distanceHomeKm;
  // A first transaction is "new" in every respect; the model can tell it apart by is_first_tx.
  x[17] = setContains(slots, SLOT_MERCHANTS, MERCHANTS_REMEMBERED, merchantHash(tx)) ? 0 : 1;
  x[18] = setContains(slots, SLOT_DEVICES, DEVICES_REMEMBERED, deviceHash(tx)) ? 0 : 1;
  x[19] = setContains(slots, SLOT_IPS, IPS_REMEMBERED, ipHash(tx)) ? 0 : 1;
  x[20] = (state.categoryMask >>> categoryIndex(tx)) & 1 ? 0 : 1;
  x[21] = newMerchants1h;
  x[22] = cvvMissing24h;
  x[23] = tx.cvv_provided ? 1 : 0;
  x[24] = tx.billing_address_match ? 1 : 0;
  x[25] = tx.account_age_days;
  x[26] = hourFraction;
}
