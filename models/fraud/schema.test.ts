import { describe, expect, test } from "bun:test";
import { ValidationError } from "../../runtime/errors.ts";
import {
  EVENT_BYTES_MAX,
  encodeLabel,
  encodeTransaction,
  parseLabel,
  parseTransaction,
  transactionEntityKey,
  USER_AGENT_LENGTH_MAX,
} from "./schema.ts";
import { originalFormatEvents } from "./simulator/original.ts";

const encoder = new TextEncoder();
const bytes = (value: unknown) =>
  encoder.encode(typeof value === "string" ? value : JSON.stringify(value));

/**
 * One event byte for byte as the original Python producer sends it: `json.dumps` (", " and ": "
 * separators), `isoformat()` with microseconds and "+00:00", `fake.uuid4()` ids, no card_id.
 */
const ORIGINAL_WIRE =
  '{"transaction_id": "0b1e6c6e-3f0a-4a57-9d3f-2a3c4b5d6e7f", "user_id": "5f2b8c1a-9d4e-4f3a-8b2c-1d0e9f8a7b6c", ' +
  '"timestamp": "2025-03-14T15:09:26.535897+00:00", "amount": 4213.57, "currency": "BRL", ' +
  '"merchant_id": "merchant_137", "product_category": "luxury_items", "transaction_type": "transfer", ' +
  '"payment_method": "crypto", "location": {"lat": -23.550520, "lon": -46.633308}, ' +
  '"ip_address": "192.168.12.34", "device_info": {"os": "Android", "browser": "Chrome"}, ' +
  '"user_agent": "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36", ' +
  '"account_age_days": 12, "cvv_provided": false, "billing_address_match": true, "is_fraud": 1}';

function validEvent(): Record<string, unknown> {
  return JSON.parse(ORIGINAL_WIRE);
}

function rejection(value: unknown): ValidationError {
  try {
    parseTransaction(bytes(value));
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error("expected a ValidationError");
}

describe("parseTransaction", () => {
  test("accepts the original producer's exact wire format", () => {
    const tx = parseTransaction(bytes(ORIGINAL_WIRE));
    expect(tx.amount).toBe(4213.57);
    expect(tx.is_fraud).toBe(1);
    expect(tx.location).toEqual({ lat: -23.55052, lon: -46.633308 });
    expect(tx.timeMs).toBe(Date.UTC(2025, 2, 14, 15, 9, 26, 535));
    expect(tx.card_id).toBeUndefined();
    // With no card_id, the entity is the user.
    expect(transactionEntityKey(tx)).toBe("5f2b8c1a-9d4e-4f3a-8b2c-1d0e9f8a7b6c");
  });

  test("accepts every event of the reproduced original producer: unkeyed, a new user each time", () => {
    const users = new Set<string>();
    let fraud = 0;
    let count = 0;
    for (const item of originalFormatEvents({ seed: 5, fraudProbability: 0.2 })) {
      expect(item.record.key).toBeNull();
      const tx = parseTransaction(item.record.value);
      expect(tx).toEqual(item.event);
      expect(tx.timestamp.endsWith("+00:00")).toBe(true);
      users.add(tx.user_id);
      fraud += tx.is_fraud ?? 0;
      if (++count === 2000) break;
    }
    expect(users.size).toBe(2000);
    expect(fraud).toBeGreaterThan(300);
  });

  test("our extensions: card_id is the entity, device_id is kept, unknown fields are ignored", () => {
    const tx = parseTransaction(
      bytes({ ...validEvent(), card_id: "card-1", device_id: "dev-1", extra: { nested: true } }),
    );
    expect(transactionEntityKey(tx)).toBe("card-1");
    expect(tx.device_id).toBe("dev-1");
    expect("extra" in tx).toBe(false);
  });

  test("encodeTransaction round-trips through the parser", () => {
    const tx = parseTransaction(bytes({ ...validEvent(), card_id: "card-9" }));
    expect(parseTransaction(encodeTransaction(tx))).toEqual(tx);
    expect(new TextDecoder().decode(encodeTransaction(tx))).not.toContain("timeMs");
  });

  test("rejects a missing amount, naming the field", () => {
    const { amount: _, ...event } = validEvent();
    const error = rejection(event);
    expect(error.path).toBe("amount");
    expect(error.message).toContain("amount: expected a finite number");
    expect(error.message).toContain("missing");
  });

  test("rejects a negative, non-finite or non-numeric amount", () => {
    expect(rejection({ ...validEvent(), amount: -5 }).message).toMatch(/^amount: .* got -5$/);
    // JSON has no Infinity, but 1e400 parses to it.
    const infinite = ORIGINAL_WIRE.replace('"amount": 4213.57', '"amount": 1e400');
    expect(rejection(infinite).path).toBe("amount");
    expect(rejection({ ...validEvent(), amount: "12.50" }).path).toBe("amount");
  });

  test("rejects bad timestamps with an example of a good one", () => {
    for (const timestamp of [
      "yesterday",
      "2025-13-01T00:00:00Z",
      "2025-02-30T00:00:00Z",
      "2025-01-01T24:00:00Z",
      "2025-01-01 00:00:00Z",
      "2025-01-01T00:00:00", // no zone: ambiguous
      1735689600000,
    ]) {
      const error = rejection({ ...validEvent(), timestamp });
      expect(error.path).toBe("timestamp");
      expect(error.message).toContain("ISO-8601");
    }
  });

  test("rejects enum values outside the original's sets, listing the allowed ones", () => {
    const currency = rejection({ ...validEvent(), currency: "XYZ" });
    expect(currency.path).toBe("currency");
    expect(currency.message).toContain("USD, EUR, GBP, JPY, CAD, AUD, BRL");
    expect(rejection({ ...validEvent(), product_category: "weapons" }).path).toBe(
      "product_category",
    );
    expect(rejection({ ...validEvent(), transaction_type: "refund" }).path).toBe(
      "transaction_type",
    );
    expect(rejection({ ...validEvent(), payment_method: "cash" }).path).toBe("payment_method");
    const os = rejection({ ...validEvent(), device_info: { os: "BeOS", browser: "Chrome" } });
    expect(os.path).toBe("device_info.os");
  });

  test("rejects coordinates out of range and malformed nested objects", () => {
    expect(rejection({ ...validEvent(), location: { lat: 91, lon: 0 } }).path).toBe("location.lat");
    expect(rejection({ ...validEvent(), location: { lat: 0, lon: -180.5 } }).path).toBe(
      "location.lon",
    );
    expect(rejection({ ...validEvent(), location: [1, 2] }).path).toBe("location");
    expect(rejection({ ...validEvent(), device_info: null }).path).toBe("device_info");
  });

  test("rejects oversized strings and events, and other wrong types", () => {
    const agent = "x".repeat(USER_AGENT_LENGTH_MAX + 1);
    expect(rejection({ ...validEvent(), user_agent: agent }).path).toBe("user_agent");
    expect(rejection({ ...validEvent(), transaction_id: "" }).path).toBe("transaction_id");
    expect(rejection({ ...validEvent(), card_id: "c".repeat(129) }).path).toBe("card_id");
    expect(rejection({ ...validEvent(), ip_address: "999.1.1.1" }).path).toBe("ip_address");
    expect(rejection({ ...validEvent(), account_age_days: 1.5 }).path).toBe("account_age_days");
    expect(rejection({ ...validEvent(), cvv_provided: "yes" }).path).toBe("cvv_provided");
    expect(rejection({ ...validEvent(), is_fraud: true }).path).toBe("is_fraud");
    const huge = rejection({ ...validEvent(), padding: "p".repeat(EVENT_BYTES_MAX) });
    expect(huge.message).toContain(`at most ${EVENT_BYTES_MAX} bytes`);
    expect(rejection("not json").message).toContain("not valid JSON");
    expect(rejection([1, 2]).message).toContain("expected a JSON object");
  });

  test("accepts IPv6 addresses", () => {
    expect(parseTransaction(bytes({ ...validEvent(), ip_address: "2001:db8::1" })).ip_address).toBe(
      "2001:db8::1",
    );
  });
});

describe("parseLabel", () => {
  const label = {
    transaction_id: "t-1",
    card_id: "card-1",
    is_fraud: 1,
    label_time: "2025-01-03T10:00:00.000Z",
    kind: "chargeback",
  };

  test("accepts a label and round-trips it", () => {
    const parsed = parseLabel(bytes(label));
    expect(parsed.labelTimeMs).toBe(Date.UTC(2025, 0, 3, 10));
    expect(parseLabel(encodeLabel(parsed))).toEqual(parsed);
  });

  test("rejects inconsistent or malformed labels, naming the field", () => {
    const fail = (value: unknown) => {
      try {
        parseLabel(bytes(value));
      } catch (error) {
        return (error as ValidationError).path;
      }
      return "accepted";
    };
    expect(fail({ ...label, is_fraud: 0 })).toBe("is_fraud");
    expect(fail({ ...label, kind: "refund" })).toBe("kind");
    expect(fail({ ...label, label_time: "soon" })).toBe("label_time");
    expect(fail({ ...label, card_id: undefined })).toBe("card_id");
    expect(fail({ ...label, kind: "confirmed", is_fraud: 0 })).toBe("accepted");
  });
});
