/**
 * The Kafka implementation of the log contract (`../log.ts`).
 *
 * @example
 * import { openKafkaLog } from "./runtime/log/kafka/index.ts";
 * const log = await openKafkaLog({ brokers: ["127.0.0.1:19092"], clientId: "coelho-0" });
 */
export type { KafkaHealth } from "./health.ts";
export { KafkaLog, openKafkaLog } from "./kafka-log.ts";
export type { KafkaConsumerTuning, KafkaLogOptions, KafkaRetryOptions } from "./options.ts";
export { KAFKA_DEFAULTS } from "./options.ts";
