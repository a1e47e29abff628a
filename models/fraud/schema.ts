/**
 * The card-fraud events: a transaction on `fraud.transactions` and its delayed label on
 * `fraud.labels`, with hand-written validating decoders for the hot path (one `JSON.parse`, then
 * field checks; no schema library per event). See docs/fraud.md for the formats.
 *
 * The transaction is a superset of the original's `transaction_fraud_detection` event: every field
 * it sends, with the same names and types, plus `card_id` (the entity) and `device_id`. Unknown
 * fields are ignored, so producers may add fields without breaking consumers.
 */
import { ValidationError } from "../../runtime/errors.ts";
import { parseIsoTimestampMs } from "../../runtime/iso-timestamp.ts";

export const CURRENCIES = ["USD", "EUR", "GBP", "JPY", "CAD", "AUD", "BRL"] as const;
export const PRODUCT_CATEGORIES = [
  "electronics",
  "clothing",
  "groceries",
  "travel",
  "services",
  "digital_goods",
  "luxury_items",
  "gambling",
  "other",
] as const;
export const TRANSACTION_TYPES = [
  "purchase",
  "withdrawal",
  "transfer",
  "payment",
  "deposit",
] as const;
export const PAYMENT_METHODS = [
  "credit_card",
  "debit_card",
  "paypal",
  "bank_transfer",
  "crypto",
] as const;
export const DEVICE_OSES = ["iOS", "Android", "Windows", "macOS", "Linux", "Other"] as const;
export const BROWSERS = ["Chrome", "Safari", "Firefox", "Edge", "Opera", "Other"] as const;
export const LABEL_KINDS = ["chargeback", "confirmed"] as const;

export type Currency = (typeof CURRENCIES)[number];
export type ProductCategory = (typeof PRODUCT_CATEGORIES)[number];
export type TransactionType = (typeof TRANSACTION_TYPES)[number];
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];
export type DeviceOs = (typeof DEVICE_OSES)[number];
export type Browser = (typeof BROWSERS)[number];
export type LabelKind = (typeof LABEL_KINDS)[number];

/** Bounds on what a producer may send; everything is bounded (STYLE.md). */
export const EVENT_BYTES_MAX = 16 * 1024;
export const ID_LENGTH_MAX = 128;
export const USER_AGENT_LENGTH_MAX = 512;
export const IP_ADDRESS_LENGTH_MAX = 45;
/** Ten million in the transaction's currency: above any card limit, below float trouble. */
export const AMOUNT_MAX = 10_000_000;
/** A hundred years. */
export const ACCOUNT_AGE_DAYS_MAX = 36_500;

/** A transaction as it travels on the wire (JSON). */
export interface TransactionEvent {
  transaction_id: string;
  user_id: string;
  /** ISO-8601 with a zone, UTC by convention: `2025-01-01T12:00:00.000Z`. */
  timestamp: string;
  /** In `currency`, ≥ 0. */
  amount: number;
  currency: Currency;
  merchant_id: string;
  product_category: ProductCategory;
  transaction_type: TransactionType;
  payment_method: PaymentMethod;
  /** Where the transaction happened (the terminal or the device). */
  location: { lat: number; lon: number };
  ip_address: string;
  device_info: { os: DeviceOs; browser: Browser };
  user_agent: string;
  account_age_days: number;
  cvv_provided: boolean;
  billing_address_match: boolean;
  /** Inline label, as the original producer sends it; absent in our default stream. */
  is_fraud?: 0 | 1;
  /** The entity. Absent from the original's producers, whose entity is then `user_id`. */
  card_id?: string;
  /** Stable device fingerprint; absent from the original's producers. */
  device_id?: string;
}

/** A decoded transaction: the wire fields plus the parsed event time. */
export interface Transaction extends TransactionEvent {
  /** `timestamp` in milliseconds since the epoch, parsed once by the decoder. Not on the wire. */
  timeMs: number;
}

/** A delayed label on `fraud.labels`, keyed by card. */
export interface LabelEvent {
  transaction_id: string;
  card_id: string;
  is_fraud: 0 | 1;
  /** When the label became known (event time), ISO-8601. */
  label_time: string;
  /** `chargeback`: the cardholder disputed it (fraud). `confirmed`: the outcome is settled. */
  kind: LabelKind;
}

/** A decoded label: the wire fields plus the parsed label time. */
export interface Label extends LabelEvent {
  labelTimeMs: number;
}

/** The entity a transaction belongs to: its card, or its user for the original's producers. */
export function transactionEntityKey(tx: TransactionEvent): string {
  return tx.card_id ?? tx.user_id;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

const CURRENCY_SET: ReadonlySet<string> = new Set(CURRENCIES);
const CATEGORY_SET: ReadonlySet<string> = new Set(PRODUCT_CATEGORIES);
const TRANSACTION_TYPE_SET: ReadonlySet<string> = new Set(TRANSACTION_TYPES);
const PAYMENT_METHOD_SET: ReadonlySet<string> = new Set(PAYMENT_METHODS);
const OS_SET: ReadonlySet<string> = new Set(DEVICE_OSES);
const BROWSER_SET: ReadonlySet<string> = new Set(BROWSERS);
const LABEL_KIND_SET: ReadonlySet<string> = new Set(LABEL_KINDS);

function describe(value: unknown): string {
  if (value === undefined) return "nothing (the field is missing)";
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function parseObject(bytes: Uint8Array, shape: string): Record<string, unknown> {
  if (bytes.length > EVENT_BYTES_MAX) {
    throw new ValidationError(
      "",
      `event is ${bytes.length} bytes; expected at most ${EVENT_BYTES_MAX} bytes of JSON`,
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(decoder.decode(bytes));
  } catch {
    throw new ValidationError("", `value is not valid JSON; expected ${shape}`);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ValidationError("", `expected a JSON object, ${shape}`);
  }
  return body as Record<string, unknown>;
}

function nestedObject(value: unknown, path: string, shape: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ValidationError(path, `expected an object ${shape}, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

function string(value: unknown, path: string, lengthMin: number, lengthMax: number): string {
  if (typeof value !== "string" || value.length < lengthMin || value.length > lengthMax) {
    const got = typeof value === "string" ? `a string of ${value.length}` : describe(value);
    throw new ValidationError(
      path,
      `expected a string of ${lengthMin} to ${lengthMax} characters, got ${got}`,
    );
  }
  return value;
}

function optionalId(value: unknown, path: string): string | undefined {
  return value === undefined ? undefined : string(value, path, 1, ID_LENGTH_MAX);
}

function oneOf<T extends string>(
  value: unknown,
  path: string,
  allowed: ReadonlySet<string>,
  all: readonly T[],
): T {
  if (typeof value !== "string" || !allowed.has(value)) {
    throw new ValidationError(path, `expected one of ${all.join(", ")}, got ${describe(value)}`);
  }
  return value as T;
}

function boolean(value: unknown, path: string): boolean {
  if (typeof value !== "boolean") {
    throw new ValidationError(path, `expected true or false, got ${describe(value)}`);
  }
  return value;
}

function numberIn(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    throw new ValidationError(
      path,
      `expected a finite number from ${min} to ${max}, got ${describe(value)}`,
    );
  }
  return value;
}

function zeroOrOne(value: unknown, path: string): 0 | 1 {
  if (value !== 0 && value !== 1) {
    throw new ValidationError(path, `expected 0 or 1, got ${describe(value)}`);
  }
  return value;
}

function timestamp(value: unknown, path: string): number {
  const ms = typeof value === "string" ? parseIsoTimestampMs(value) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new ValidationError(
      path,
      `expected an ISO-8601 timestamp with a zone, such as "2025-01-01T12:00:00.000Z", got ${describe(value)}`,
    );
  }
  return ms;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const IPV6 = /^[0-9a-fA-F:.]+$/;

function ipAddress(value: unknown, path: string): string {
  const text = string(value, path, 2, IP_ADDRESS_LENGTH_MAX);
  const v4 = IPV4.exec(text);
  const ok = v4
    ? Number(v4[1]) <= 255 && Number(v4[2]) <= 255 && Number(v4[3]) <= 255 && Number(v4[4]) <= 255
    : text.includes(":") && IPV6.test(text);
  if (!ok) {
    throw new ValidationError(
      path,
      `expected an IPv4 (203.0.113.7) or IPv6 address, got ${describe(value)}`,
    );
  }
  return text;
}

const TRANSACTION_SHAPE =
  '{"transaction_id", "user_id", "timestamp", "amount", ...} (see docs/fraud.md)';

/**
 * Decodes and validates one transaction. Throws a {@link ValidationError} whose `path` names the
 * field (`amount`, `location.lat`, `device_info.os`) and whose message says what was expected.
 * Returns a fresh object holding only the known fields, plus the parsed `timeMs`.
 *
 * @example parseTransaction(new TextEncoder().encode(line)).amount
 */
export function parseTransaction(bytes: Uint8Array): Transaction {
  const body = parseObject(bytes, TRANSACTION_SHAPE);
  const transactionId = string(body.transaction_id, "transaction_id", 1, ID_LENGTH_MAX);
  const userId = string(body.user_id, "user_id", 1, ID_LENGTH_MAX);
  const timeMs = timestamp(body.timestamp, "timestamp");
  const amount = numberIn(body.amount, "amount", 0, AMOUNT_MAX);
  const currency = oneOf(body.currency, "currency", CURRENCY_SET, CURRENCIES);
  const merchantId = string(body.merchant_id, "merchant_id", 1, ID_LENGTH_MAX);
  const category = oneOf(
    body.product_category,
    "product_category",
    CATEGORY_SET,
    PRODUCT_CATEGORIES,
  );
  const transactionType = oneOf(
    body.transaction_type,
    "transaction_type",
    TRANSACTION_TYPE_SET,
    TRANSACTION_TYPES,
  );
  const paymentMethod = oneOf(
    body.payment_method,
    "payment_method",
    PAYMENT_METHOD_SET,
    PAYMENT_METHODS,
  );
  const location = nestedObject(body.location, "location", '{"lat": number, "lon": number}');
  const lat = numberIn(location.lat, "location.lat", -90, 90);
  const lon = numberIn(location.lon, "location.lon", -180, 180);
  const ip = ipAddress(body.ip_address, "ip_address");
  const device = nestedObject(body.device_info, "device_info", '{"os": string, "browser": string}');
  const os = oneOf(device.os, "device_info.os", OS_SET, DEVICE_OSES);
  const browser = oneOf(device.browser, "device_info.browser", BROWSER_SET, BROWSERS);
  const userAgent = string(body.user_agent, "user_agent", 0, USER_AGENT_LENGTH_MAX);
  const accountAgeDays = numberIn(
    body.account_age_days,
    "account_age_days",
    0,
    ACCOUNT_AGE_DAYS_MAX,
  );
  if (!Number.isInteger(accountAgeDays)) {
    throw new ValidationError("account_age_days", `expected an integer, got ${accountAgeDays}`);
  }
  const cvvProvided = boolean(body.cvv_provided, "cvv_provided");
  const billingAddressMatch = boolean(body.billing_address_match, "billing_address_match");
  const isFraud = body.is_fraud === undefined ? undefined : zeroOrOne(body.is_fraud, "is_fraud");
  const cardId = optionalId(body.card_id, "card_id");
  const deviceId = optionalId(body.device_id, "device_id");

  // Built in one literal so every Transaction shares one shape (fast property access later).
  return {
    transaction_id: transactionId,
    user_id: userId,
    timestamp: body.timestamp as string,
    amount,
    currency,
    merchant_id: merchantId,
    product_category: category,
    transaction_type: transactionType,
    payment_method: paymentMethod,
    location: { lat, lon },
    ip_address: ip,
    device_info: { os, browser },
    user_agent: userAgent,
    account_age_days: accountAgeDays,
    cvv_provided: cvvProvided,
    billing_address_match: billingAddressMatch,
    is_fraud: isFraud,
    card_id: cardId,
    device_id: deviceId,
    timeMs,
  };
}

const LABEL_SHAPE =
  '{"transaction_id": string, "card_id": string, "is_fraud": 0|1, "label_time": ISO-8601, "kind": "chargeback"|"confirmed"}';

/**
 * Decodes and validates one label. A chargeback is always a fraud label; a confirmation may settle
 * either way.
 */
export function parseLabel(bytes: Uint8Array): Label {
  const body = parseObject(bytes, LABEL_SHAPE);
  const transactionId = string(body.transaction_id, "transaction_id", 1, ID_LENGTH_MAX);
  const cardId = string(body.card_id, "card_id", 1, ID_LENGTH_MAX);
  const isFraud = zeroOrOne(body.is_fraud, "is_fraud");
  const labelTimeMs = timestamp(body.label_time, "label_time");
  const kind = oneOf(body.kind, "kind", LABEL_KIND_SET, LABEL_KINDS);
  if (kind === "chargeback" && isFraud !== 1) {
    throw new ValidationError("is_fraud", "a chargeback is a fraud label; expected is_fraud 1");
  }
  return {
    transaction_id: transactionId,
    card_id: cardId,
    is_fraud: isFraud,
    label_time: body.label_time as string,
    kind,
    labelTimeMs,
  };
}

/**
 * The wire bytes of a transaction: the original's fields first, in the original's order, then
 * ours; absent optional fields are left out and `timeMs` never goes on the wire.
 */
export function encodeTransaction(tx: TransactionEvent): Uint8Array {
  const wire: TransactionEvent = {
    transaction_id: tx.transaction_id,
    user_id: tx.user_id,
    timestamp: tx.timestamp,
    amount: tx.amount,
    currency: tx.currency,
    merchant_id: tx.merchant_id,
    product_category: tx.product_category,
    transaction_type: tx.transaction_type,
    payment_method: tx.payment_method,
    location: { lat: tx.location.lat, lon: tx.location.lon },
    ip_address: tx.ip_address,
    device_info: { os: tx.device_info.os, browser: tx.device_info.browser },
    user_agent: tx.user_agent,
    account_age_days: tx.account_age_days,
    cvv_provided: tx.cvv_provided,
    billing_address_match: tx.billing_address_match,
  };
  if (tx.is_fraud !== undefined) wire.is_fraud = tx.is_fraud;
  if (tx.card_id !== undefined) wire.card_id = tx.card_id;
  if (tx.device_id !== undefined) wire.device_id = tx.device_id;
  return encoder.encode(JSON.stringify(wire));
}

/** The wire bytes of a label (without the parsed `labelTimeMs`). */
export function encodeLabel(label: LabelEvent): Uint8Array {
  const wire: LabelEvent = {
    transaction_id: label.transaction_id,
    card_id: label.card_id,
    is_fraud: label.is_fraud,
    label_time: label.label_time,
    kind: label.kind,
  };
  return encoder.encode(JSON.stringify(wire));
}
