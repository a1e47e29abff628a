/**
 * The feature schema: which columns a model was trained on and how categories were encoded.
 *
 * It is built once at training time ({@link buildFeatureSchema}) and saved with the model; serving
 * loads it ({@link parseFeatureSchema}) and never recomputes it. The original computed category
 * codes over whatever table it had at hand, so serving used different codes than training (its
 * mistake 4). Here the codes are fixed by the saved lists, and a value not in a list maps to code 0,
 * the explicit {@link UNKNOWN_CATEGORY}.
 */
import { ValidationError } from "../../runtime/errors.ts";
import {
  BROWSERS,
  CURRENCIES,
  DEVICE_OSES,
  PAYMENT_METHODS,
  PRODUCT_CATEGORIES,
  TRANSACTION_TYPES,
  type TransactionEvent,
} from "./schema.ts";

/** Version of the feature code. Bump it whenever a definition changes meaning. */
export const FEATURE_VERSION = 1;

/** The numeric features, in column order; defined in docs/fraud.md and features.ts. */
export const NUMERIC_FEATURES = [
  "amount_log",
  "tx_count_1m",
  "tx_count_1h",
  "tx_count_24h",
  "amount_sum_1m_log",
  "amount_sum_1h_log",
  "amount_sum_24h_log",
  "amount_mean_log",
  "amount_std_log",
  "amount_zscore",
  "amount_max_ratio_24h",
  "history_count_log",
  "is_first_tx",
  "seconds_since_last_log",
  "distance_from_last_km",
  "speed_from_last_kmh",
  "distance_from_home_km",
  "merchant_new",
  "device_new",
  "ip_new",
  "category_new",
  "new_merchant_count_1h",
  "cvv_missing_count_24h",
  "cvv_provided",
  "billing_address_match",
  "account_age_days",
  "hour_usual_fraction",
] as const;

export type NumericFeature = (typeof NUMERIC_FEATURES)[number];

/** Column of each numeric feature; they come first whatever the categorical encoding. */
export const FEATURE_INDEX = Object.fromEntries(
  NUMERIC_FEATURES.map((name, index) => [name, index]),
) as Record<NumericFeature, number>;

/** The categorical features and where each comes from in the event. */
export const CATEGORICAL_FEATURES = {
  product_category: (tx: TransactionEvent) => tx.product_category,
  transaction_type: (tx: TransactionEvent) => tx.transaction_type,
  payment_method: (tx: TransactionEvent) => tx.payment_method,
  currency: (tx: TransactionEvent) => tx.currency,
  device_os: (tx: TransactionEvent) => tx.device_info.os,
  device_browser: (tx: TransactionEvent) => tx.device_info.browser,
} as const;

export type CategoricalFeature = keyof typeof CATEGORICAL_FEATURES;
export const CATEGORICAL_NAMES = Object.keys(CATEGORICAL_FEATURES) as CategoricalFeature[];

const CANONICAL_VALUES: Record<CategoricalFeature, readonly string[]> = {
  product_category: PRODUCT_CATEGORIES,
  transaction_type: TRANSACTION_TYPES,
  payment_method: PAYMENT_METHODS,
  currency: CURRENCIES,
  device_os: DEVICE_OSES,
  device_browser: BROWSERS,
};

/** Code 0 of every categorical feature: a value the model never saw in training. */
export const UNKNOWN_CATEGORY = "__unknown__";

/**
 * `code`: one column per categorical feature holding the index in its list (for trees).
 * `onehot`: one 0/1 column per listed value, named `feature=value` (for linear models).
 */
export type CategoricalEncoding = "code" | "onehot";

export interface FeatureSchema {
  version: number;
  encoding: CategoricalEncoding;
  /** Column names in order. */
  names: string[];
  /** Per categorical feature, its values; index = code, and index 0 is UNKNOWN_CATEGORY. */
  categories: Record<string, string[]>;
}

export interface BuildFeatureSchemaOptions {
  /** Training transactions: keep only the values seen in them (at least `minCount` times). */
  transactions?: Iterable<TransactionEvent>;
  minCount?: number;
  encoding?: CategoricalEncoding;
}

function namesFor(encoding: CategoricalEncoding, categories: Record<string, string[]>): string[] {
  const names: string[] = [...NUMERIC_FEATURES];
  for (const feature of CATEGORICAL_NAMES) {
    if (encoding === "code") names.push(feature);
    else for (const value of categories[feature] ?? []) names.push(`${feature}=${value}`);
  }
  return names;
}

/**
 * Builds the schema at training time. Without transactions every valid value gets a code; with
 * them only the values seen often enough do (the rest share code 0). Values are listed in a fixed
 * canonical order, never in order of appearance, so the same data gives the same codes.
 *
 * @example const schema = buildFeatureSchema({ transactions: train, encoding: "onehot" });
 */
export function buildFeatureSchema(options: BuildFeatureSchemaOptions = {}): FeatureSchema {
  const encoding = options.encoding ?? "code";
  const minCount = options.minCount ?? 1;
  const counts = new Map<string, number>();
  if (options.transactions) {
    for (const tx of options.transactions) {
      for (const feature of CATEGORICAL_NAMES) {
        const key = `${feature}\u0000${CATEGORICAL_FEATURES[feature](tx)}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
  }
  const categories: Record<string, string[]> = {};
  for (const feature of CATEGORICAL_NAMES) {
    const values = CANONICAL_VALUES[feature].filter(
      (value) => !options.transactions || (counts.get(`${feature}\u0000${value}`) ?? 0) >= minCount,
    );
    categories[feature] = [UNKNOWN_CATEGORY, ...values];
  }
  return { version: FEATURE_VERSION, encoding, names: namesFor(encoding, categories), categories };
}

/**
 * Validates a saved schema (from a model registry) against this build's feature code. Throws a
 * ValidationError when the model was trained with features this code does not compute.
 */
export function parseFeatureSchema(value: unknown): FeatureSchema {
  if (typeof value !== "object" || value === null) {
    throw new ValidationError("", "expected a feature schema object {version, names, categories}");
  }
  const raw = value as Partial<FeatureSchema>;
  if (raw.version !== FEATURE_VERSION) {
    throw new ValidationError(
      "version",
      `feature schema version ${String(raw.version)} is not computed by this build; expected ${FEATURE_VERSION} (retrain the model)`,
    );
  }
  const encoding = raw.encoding ?? "code";
  if (encoding !== "code" && encoding !== "onehot") {
    throw new ValidationError("encoding", `expected "code" or "onehot", got ${String(encoding)}`);
  }
  const categories: Record<string, string[]> = {};
  for (const feature of CATEGORICAL_NAMES) {
    const list = raw.categories?.[feature];
    if (
      !Array.isArray(list) ||
      list[0] !== UNKNOWN_CATEGORY ||
      !list.every((v) => typeof v === "string")
    ) {
      throw new ValidationError(
        `categories.${feature}`,
        `expected a list of strings starting with "${UNKNOWN_CATEGORY}"`,
      );
    }
    categories[feature] = [...list];
  }
  const names = namesFor(encoding, categories);
  if (!Array.isArray(raw.names) || raw.names.join("\n") !== names.join("\n")) {
    throw new ValidationError(
      "names",
      `columns do not match feature version ${FEATURE_VERSION} with these categories; expected ${names.length} columns starting ${names.slice(0, 3).join(", ")}`,
    );
  }
  return { version: FEATURE_VERSION, encoding, names, categories };
}
