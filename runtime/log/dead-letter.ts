/**
 * Dead letters: a record that failed validation goes to `<topic>.dlq` with its original bytes,
 * key and timestamp, and the reason and its source position in headers (the source position is a
 * deterministic id: a dead letter written again after a crash can be recognised).
 */
import type { ValidationError } from "../errors.ts";
import type { LogRecord, StoredRecord, TopicPartition } from "./log.ts";

export const DLQ_REASON_HEADER = "coelho.dlq.reason";

/** The dead letter for `record`, read from `source`, refused with `error`. */
export function deadLetterRecord(
  record: StoredRecord,
  error: ValidationError,
  source: TopicPartition,
): LogRecord {
  return {
    key: record.key,
    value: record.value,
    timestampMs: record.timestampMs,
    headers: {
      ...record.headers,
      [DLQ_REASON_HEADER]: error.message,
      "coelho.dlq.code": error.code,
      "coelho.dlq.path": error.path,
      "coelho.dlq.topic": source.topic,
      "coelho.dlq.partition": String(source.partition),
      "coelho.dlq.offset": String(record.offset),
    },
  };
}
