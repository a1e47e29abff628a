/**
 * The original COELHORealTime producer, reproduced for compatibility tests: unkeyed JSON values,
 * a fresh `user_id` for every event (no returning customers), uniform random fields, the label
 * inline as `is_fraud`, and Python's `isoformat()` timestamps (`...123456+00:00`). Its defaults
 * are the original's command-line defaults.
 */
import type { LogRecord } from "../../../runtime/log/log.ts";
import {
  BROWSERS,
  CURRENCIES,
  DEVICE_OSES,
  encodeTransaction,
  PAYMENT_METHODS,
  PRODUCT_CATEGORIES,
  type ProductCategory,
  TRANSACTION_TYPES,
  type Transaction,
} from "../schema.ts";
import { userAgent } from "./devices.ts";
import { Rng } from "./random.ts";

export interface OriginalProducerOptions {
  seed?: number;
  /** Event time of the first event. Default 2025-01-01T00:00:00Z. */
  startMs?: number;
  fraudProbability?: number;
  accountAgeDaysLimitYears?: number;
  merchantIdLimit?: number;
  cvvProvidedMissingProbability?: number;
  billingAddressMatchMissingProbability?: number;
  highValueFraudProbability?: number;
}

/** One original-format event: key null, `is_fraud` inline. */
export interface OriginalItem {
  kind: "transaction";
  record: LogRecord;
  event: Transaction;
}

const FRAUD_CATEGORIES: readonly ProductCategory[] = [
  "electronics",
  "luxury_items",
  "digital_goods",
  "gambling",
];

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** Python's `datetime.now(timezone.utc).isoformat()`: microseconds and a `+00:00` offset. */
export function pythonIsoformat(timeMs: number, microsecond: number): string {
  const iso = new Date(timeMs).toISOString(); // 2025-01-01T00:00:00.123Z
  const micros = `${iso.slice(20, 23)}${String(microsecond % 1000).padStart(3, "0")}`;
  return micros === "000000" ? `${iso.slice(0, 19)}+00:00` : `${iso.slice(0, 19)}.${micros}+00:00`;
}

/**
 * An endless stream of events exactly as the original producer builds them (its distributions,
 * its field order). Event time advances by 0.05 to 0.5 s per event, its sleep between sends.
 */
export function* originalFormatEvents(
  options: OriginalProducerOptions = {},
): Generator<OriginalItem> {
  const rng = new Rng(options.seed ?? 1);
  const fraudProbability = options.fraudProbability ?? 0.01;
  const ageLimitYears = options.accountAgeDaysLimitYears ?? 5;
  const merchantLimit = options.merchantIdLimit ?? 200;
  const cvvMissing = options.cvvProvidedMissingProbability ?? 0.05;
  const billingMissing = options.billingAddressMatchMissingProbability ?? 0.1;
  const highValue = options.highValueFraudProbability ?? 0.8;
  let timeMs = options.startMs ?? Date.UTC(2025, 0, 1);
  for (;;) {
    const userId = rng.uuid();
    const baseRandom = rng.float();
    let accountAgeDays = rng.int(0, 365 * ageLimitYears);
    const transactionType = rng.pick(TRANSACTION_TYPES);
    let paymentMethod = rng.pick(PAYMENT_METHODS);
    const merchantId = `merchant_${rng.int(1, merchantLimit)}`;
    const currency = rng.pick(CURRENCIES);
    let productCategory = rng.pick(PRODUCT_CATEGORIES);
    const os = rng.pick(DEVICE_OSES);
    const browser = rng.pick(BROWSERS);
    const agent = userAgent(os, browser, rng);
    const ip = `${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(0, 255)}`;
    const location = {
      lat: Math.round(rng.uniform(-90, 90) * 1e6) / 1e6,
      lon: Math.round(rng.uniform(-180, 180) * 1e6) / 1e6,
    };
    let cvvProvided = !rng.chance(cvvMissing);
    let billingAddressMatch = !rng.chance(billingMissing);
    const isFraud = baseRandom < fraudProbability;
    let amount: number;
    if (isFraud) {
      amount = rng.chance(highValue) ? round2(rng.uniform(300, 6000)) : round2(rng.uniform(1, 50));
      if (rng.chance(0.4)) cvvProvided = false;
      if (rng.chance(0.3)) billingAddressMatch = false;
      if (rng.chance(0.2)) productCategory = rng.pick(FRAUD_CATEGORIES);
      if (rng.chance(0.15)) accountAgeDays = rng.int(0, 30);
      if (rng.chance(0.1)) paymentMethod = rng.pick(["crypto", "credit_card"] as const);
    } else {
      amount = round2(rng.uniform(5, 500));
      if (!cvvProvided && rng.chance(0.9)) cvvProvided = true;
      if (!billingAddressMatch && rng.chance(0.8)) billingAddressMatch = true;
    }
    const event: Transaction = {
      transaction_id: rng.uuid(),
      user_id: userId,
      timestamp: pythonIsoformat(timeMs, rng.int(0, 999)),
      amount,
      currency,
      merchant_id: merchantId,
      product_category: productCategory,
      transaction_type: transactionType,
      payment_method: paymentMethod,
      location,
      ip_address: ip,
      device_info: { os, browser },
      user_agent: agent,
      account_age_days: accountAgeDays,
      cvv_provided: cvvProvided,
      billing_address_match: billingAddressMatch,
      is_fraud: isFraud ? 1 : 0,
      timeMs,
    };
    yield {
      kind: "transaction",
      record: { key: null, value: encodeTransaction(event), timestampMs: timeMs },
      event,
    };
    timeMs += Math.round(rng.uniform(50, 500));
  }
}
