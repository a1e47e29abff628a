/**
 * The example use case: a per-key counter and sum. Small enough to check by hand, and what the
 * runtime's tests and benchmarks use, since the runtime must know nothing of fraud.
 *
 * Event (JSON value, keyed by `key`): `{ "key": "user-42", "value": 3 }`.
 */
import { ValidationError } from "../../runtime/errors.ts";
import type { StoredRecord } from "../../runtime/log/log.ts";
import type { EntityModel } from "../../runtime/shard/entity-model.ts";

export interface CounterEvent {
  key: string;
  value: number;
}

export interface CounterState {
  count: number;
  sum: number;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const KEY_LENGTH_MAX = 256;

/** Parses and validates a counter event; throws a ValidationError naming the bad field. */
export function parseCounterEvent(bytes: Uint8Array): CounterEvent {
  let body: unknown;
  try {
    body = JSON.parse(decoder.decode(bytes));
  } catch {
    throw new ValidationError(
      "",
      'value is not valid JSON; expected {"key": string, "value": number}',
    );
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ValidationError("", 'expected a JSON object {"key": string, "value": number}');
  }
  const { key, value } = body as Record<string, unknown>;
  if (typeof key !== "string" || key.length === 0 || key.length > KEY_LENGTH_MAX) {
    throw new ValidationError("key", `expected a string of 1 to ${KEY_LENGTH_MAX} characters`);
  }
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new ValidationError("value", `expected a finite number, got ${JSON.stringify(value)}`);
  }
  return { key, value };
}

export function counterModel(
  inputTopic = "counter.events",
): EntityModel<CounterState, CounterEvent> {
  return {
    name: "counter",
    inputTopic,
    decode: (record: StoredRecord) => parseCounterEvent(record.value),
    key: (event) => event.key,
    initial: () => ({ count: 0, sum: 0 }),
    update: (state, event) => ({ count: state.count + 1, sum: state.sum + event.value }),
    // As text ("count,sum"): a state of two numbers gains nothing from a binary layout.
    encodeState: (state) => encoder.encode(`${state.count},${state.sum}`),
    decodeState: (bytes) => {
      const text = decoder.decode(bytes);
      const comma = text.indexOf(",");
      return { count: Number(text.slice(0, comma)), sum: Number(text.slice(comma + 1)) };
    },
  };
}
