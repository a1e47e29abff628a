/**
 * The Kafka implementation of the log contract (`../log.ts`), and the shard changelog on Kafka.
 *
 * @example
 * import { openKafkaLog } from "./runtime/log/kafka/index.ts";
 * const log = await openKafkaLog({ brokers: ["127.0.0.1:19092"], clientId: "coelho-0" });
 */
export type { KafkaChangelogOptions } from "./changelog.ts";
export {
  ChangelogFencedError,
  createKafkaChangelog,
  KAFKA_CHANGELOG_DEFAULTS,
  KafkaChangelog,
} from "./changelog.ts";
export { CommitRejoiningError } from "./group-consumer.ts";
export type { KafkaHealth } from "./health.ts";
export type { PartitionOffsets, TransactionalProducerOptions } from "./kafka-log.ts";
export { KafkaLog, openKafkaLog } from "./kafka-log.ts";
export type { KafkaConsumerTuning, KafkaLogOptions, KafkaRetryOptions } from "./options.ts";
export { KAFKA_DEFAULTS } from "./options.ts";
export type { Isolation, ReadOptions } from "./reader.ts";
export { createWorkerKafkaChangelog, WorkerKafkaChangelog } from "./worker-changelog.ts";
