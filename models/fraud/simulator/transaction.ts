/**
 * Assembles a transaction event from the simulator's choices, in the wire's field order.
 */
import type { PaymentMethod, ProductCategory, Transaction, TransactionType } from "../schema.ts";
import { roundAmount, toCurrencyUnits } from "./cities.ts";
import type { Device } from "./devices.ts";
import type { Rng } from "./random.ts";
import type { Card, Merchant } from "./world.ts";

const DAY_MS = 86_400_000;

/** What distinguishes one simulated transaction; the rest comes from the card. */
export interface TransactionParts {
  timeMs: number;
  card: Card;
  merchant: Merchant;
  amountUsd: number;
  lat: number;
  lon: number;
  device: Device;
  ip: string;
  type: TransactionType;
  method: PaymentMethod;
  cvvProvided: boolean;
  billingAddressMatch: boolean;
  /** Product category; defaults to the merchant's. */
  category?: ProductCategory;
}

/** Rounds a coordinate to 6 decimals (~0.1 m), as card networks and the original producer do. */
function coordinate(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

/** Builds the event; `inlineLabel` adds the original's `is_fraud` field. */
export function buildTransaction(
  parts: TransactionParts,
  isFraud: boolean,
  inlineLabel: boolean,
  rng: Rng,
): Transaction {
  const { card, merchant } = parts;
  const amount = roundAmount(
    toCurrencyUnits(Math.min(50_000, Math.max(0.01, parts.amountUsd)), card.currency),
    card.currency,
  );
  const tx: Transaction = {
    transaction_id: rng.uuid(),
    user_id: card.userId,
    timestamp: new Date(parts.timeMs).toISOString(),
    amount,
    currency: card.currency,
    merchant_id: merchant.id,
    product_category: parts.category ?? merchant.category,
    transaction_type: parts.type,
    payment_method: parts.method,
    location: { lat: coordinate(parts.lat), lon: coordinate(parts.lon) },
    ip_address: parts.ip,
    device_info: { os: parts.device.os, browser: parts.device.browser },
    user_agent: parts.device.userAgent,
    account_age_days: Math.max(0, Math.floor((parts.timeMs - card.accountCreatedMs) / DAY_MS)),
    cvv_provided: parts.cvvProvided,
    billing_address_match: parts.billingAddressMatch,
    is_fraud: inlineLabel ? (isFraud ? 1 : 0) : undefined,
    card_id: card.cardId,
    device_id: parts.device.id,
    timeMs: parts.timeMs,
  };
  return tx;
}
