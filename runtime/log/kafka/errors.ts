/**
 * kafkajs errors as the runtime's three kinds (runtime/errors.ts).
 *
 * kafkajs has already retried what it considers retriable, with the bounded backoff of
 * `KafkaLogOptions.retry`, before an error reaches us; so "retries exceeded" is a failure
 * (RetriesExhaustedError), a still-retriable error is a RetriableError, and the rest is a failure
 * with a `kafka_<type>` code.
 */
import { CoelhoError, RetriableError, RetriesExhaustedError } from "../../errors.ts";
import { isConnectionError } from "./health.ts";

interface KafkaJSErrorShape extends Error {
  retriable?: boolean;
  type?: string;
  retryCount?: number;
  cause?: unknown;
  /** KafkaJSAggregateError (e.g. "Topic creation errors"): the errors it gathers. */
  errors?: unknown[];
}

/**
 * The error's message, with the messages of the errors it gathers when it is an aggregate:
 * kafkajs answers a failed createTopics with "Topic creation errors" and keeps the broker's
 * reason (e.g. a replication factor above the broker count) in `errors`.
 */
function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const gathered = (error as KafkaJSErrorShape).errors;
  if (!Array.isArray(gathered) || gathered.length === 0) return error.message;
  const reasons = [...new Set(gathered.map((e) => (e instanceof Error ? e.message : String(e))))];
  return `${error.message}: ${reasons.join("; ")}`;
}

/** The highest retry count kafkajs recorded on the error or its causes (nested retriers). */
function retryCount(error: unknown): number | undefined {
  let found: number | undefined;
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth += 1) {
    const count = (current as KafkaJSErrorShape).retryCount;
    if (typeof count === "number") found = Math.max(found ?? 0, count);
    current = (current as KafkaJSErrorShape).cause;
  }
  return found;
}

/** The innermost cause of a kafkajs error (retries-exceeded wraps the last attempt's error). */
export function rootCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 8; depth += 1) {
    const next = (current as KafkaJSErrorShape | undefined)?.cause;
    if (next === undefined || next === current) break;
    current = next;
  }
  return current;
}

/** The Kafka protocol error type (e.g. `UNKNOWN_TOPIC_OR_PARTITION`) of an error or its causes. */
export function protocolType(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth += 1) {
    const type = (current as KafkaJSErrorShape).type;
    if (typeof type === "string") return type;
    current = (current as KafkaJSErrorShape).cause;
  }
  return undefined;
}

/**
 * The runtime error for a failed kafkajs call. `operation` names the call and its input, e.g.
 * `append to scores/2`.
 */
export function translateError(operation: string, error: unknown): Error {
  if (error instanceof CoelhoError) return error;
  const shape = error as KafkaJSErrorShape;
  if (shape?.name === "KafkaJSNumberOfRetriesExceeded" || isConnectionError(error)) {
    // Either way kafkajs gave up after its bounded retries (a connection failure can arrive
    // wrapped as "non-retriable" once the outer retrier is done with it).
    return new RetriesExhaustedError(operation, (retryCount(error) ?? 0) + 1, rootCause(error));
  }
  const message = messageOf(error);
  if (shape?.retriable === true) {
    return new RetriableError(`${operation}: ${message}`, { cause: error });
  }
  const type = protocolType(error);
  const code = type ? `kafka_${type.toLowerCase()}` : "kafka";
  return new CoelhoError(code, `${operation}: ${message}`, { cause: error });
}
