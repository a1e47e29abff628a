/**
 * JSON Schemas of the fraud events, as TypeBox schemas (what Elysia validates bodies with and
 * turns into OpenAPI). They describe the wire format that {@link parseTransaction} and
 * {@link parseLabel} enforce; `json-schema.test.ts` keeps the two in sync by checking simulated
 * events against these schemas and schema-invalid events against the parsers.
 *
 * Not used on the hot path: the hand-written decoders in `schema.ts` are.
 */
import { FormatRegistry, type TLiteral, type TUnion, Type } from "@sinclair/typebox";
import { isIsoTimestamp } from "../../runtime/iso-timestamp.ts";
import {
  ACCOUNT_AGE_DAYS_MAX,
  AMOUNT_MAX,
  BROWSERS,
  CURRENCIES,
  DEVICE_OSES,
  ID_LENGTH_MAX,
  IP_ADDRESS_LENGTH_MAX,
  LABEL_KINDS,
  PAYMENT_METHODS,
  PRODUCT_CATEGORIES,
  TRANSACTION_TYPES,
  USER_AGENT_LENGTH_MAX,
} from "./schema.ts";

// TypeBox checks `format` only through its registry, one function per name for the process.
// Ours, whatever was imported first: Elysia registers a laxer `date-time` when none is there (it
// takes "2025-02-30", which JavaScript's Date rolls over to 2 March, and Date's own text form),
// so the import order decided whether the schema and the parser agreed.
FormatRegistry.Set("date-time", isIsoTimestamp);

function literals<T extends string>(
  values: readonly T[],
  description: string,
): TUnion<TLiteral<T>[]> {
  return Type.Union(
    values.map((value) => Type.Literal(value)),
    { description },
  );
}

const id = (description: string) =>
  Type.String({ minLength: 1, maxLength: ID_LENGTH_MAX, description });

const timestamp = (description: string) =>
  Type.String({ format: "date-time", description, examples: ["2025-01-01T12:00:00.000Z"] });

/** The transaction on `fraud.transactions`: the original's fields, then `card_id`, `device_id`. */
export const TransactionEventSchema = Type.Object(
  {
    transaction_id: id("Unique transaction id (a UUID from our simulator)."),
    user_id: id("Account holder; the entity when card_id is absent."),
    timestamp: timestamp("Event time, ISO-8601 with a zone (UTC)."),
    amount: Type.Number({ minimum: 0, maximum: AMOUNT_MAX, description: "In `currency`." }),
    currency: literals(CURRENCIES, "ISO-4217 code."),
    merchant_id: id("Merchant, `merchant_<n>`."),
    product_category: literals(PRODUCT_CATEGORIES, "What was bought."),
    transaction_type: literals(TRANSACTION_TYPES, "Kind of transaction."),
    payment_method: literals(PAYMENT_METHODS, "How it was paid."),
    location: Type.Object(
      {
        lat: Type.Number({ minimum: -90, maximum: 90 }),
        lon: Type.Number({ minimum: -180, maximum: 180 }),
      },
      { description: "Where the transaction happened (terminal or device)." },
    ),
    ip_address: Type.String({
      minLength: 2,
      maxLength: IP_ADDRESS_LENGTH_MAX,
      description: "IPv4 or IPv6.",
    }),
    device_info: Type.Object({
      os: literals(DEVICE_OSES, "Device operating system."),
      browser: literals(BROWSERS, "Browser."),
    }),
    user_agent: Type.String({ maxLength: USER_AGENT_LENGTH_MAX }),
    account_age_days: Type.Integer({ minimum: 0, maximum: ACCOUNT_AGE_DAYS_MAX }),
    cvv_provided: Type.Boolean(),
    billing_address_match: Type.Boolean(),
    is_fraud: Type.Optional(
      Type.Union([Type.Literal(0), Type.Literal(1)], {
        description: "Inline label, as the original producer sends it; absent by default.",
      }),
    ),
    card_id: Type.Optional(id("The entity (card). Absent from the original's producers.")),
    device_id: Type.Optional(id("Stable device fingerprint.")),
  },
  { $id: "FraudTransaction", additionalProperties: true },
);

/** The delayed label on `fraud.labels`, keyed by card. */
export const LabelEventSchema = Type.Object(
  {
    transaction_id: id("The labelled transaction."),
    card_id: id("Its card (the record key)."),
    is_fraud: Type.Union([Type.Literal(0), Type.Literal(1)]),
    label_time: timestamp("When the label became known (event time)."),
    kind: literals(LABEL_KINDS, "chargeback: disputed as fraud; confirmed: settled."),
  },
  { $id: "FraudLabel", additionalProperties: true },
);
