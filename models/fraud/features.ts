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

/** Fills the numeric block (NUMERIC_FEATURES order) of `x`. */
function numericFeatures(state: CardState, tx: Transaction, x: Float64Array): void {
  const slots = state.slots;
  const count = state.count;
  const amountLog = Math.log1p(tx.amount);
  const nowSeconds = Math.floor(tx.timeMs / 1000);

  // Windows over the ring of the last RING_SIZE transactions. Ages are compared, not times, so an
  // event that arrives late (older than the last one) still counts as recent.
  let count1m = 0;
  let count1h = 0;
  let count24h = 0;
  let sum1m = 0;
  let sum1h = 0;
  let sum24h = 0;
  let max24h = -1;
  let newMerchants1h = 0;
  let cvvMissing24h = 0;
  const filled = Math.min(count, RING_SIZE);
  for (let i = 0; i < filled; i++) {
    const ageSeconds = nowSeconds - (slots[SLOT_TIMES + i] ?? 0);
    if (ageSeconds >= 86_400) continue;
    const amount = (slots[SLOT_AMOUNTS + i] ?? 0) / 100;
    count24h++;
    sum24h += amount;
    if (amount > max24h) max24h = amount;
    if ((state.cvvMissingMask >>> i) & 1) cvvMissing24h++;
    if (ageSeconds >= 3600) continue;
    count1h++;
    sum1h += amount;
    if ((state.newMerchantMask >>> i) & 1) newMerchants1h++;
    if (ageSeconds >= 60) continue;
    count1m++;
    sum1m += amount;
  }

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
