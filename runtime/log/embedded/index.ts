/**
 * The embedded durable log: `openEmbeddedLog({ dir })` gives a {@link Log} on local disk.
 * See docs/embedded-log.md.
 */
export { CONSUMER_BATCH_MAX, EmbeddedConsumer } from "./consumer.ts";
export {
  APPEND_RECORDS_MAX,
  EmbeddedLog,
  type EmbeddedLogOptions,
  LogClosedError,
  openEmbeddedLog,
  READ_RECORDS_MAX,
  type RecoveryEntry,
} from "./embedded-log.ts";
export { LOCK_FILE_NAME, LogLockedError } from "./lock.ts";
export {
  APPEND_BYTES_MAX,
  type FsyncPolicy,
  LogFailedError,
  type RetentionPolicy,
} from "./partition.ts";
export { FRAME_BYTES_MAX, LogCorruptError } from "./record-codec.ts";
