/**
 * `WorkerKafkaChangelog`: the Kafka shard changelog with its writing side in a worker thread.
 *
 * Publishing a checkpoint encodes every changed state into Kafka records (kafkajs's encoder, CRCs,
 * produce requests) and runs a transaction; on the main thread that took about a fifth of the
 * event loop in Kafka mode (`bun run bench -- kafka`), next to kafkajs's decoding of the input and
 * the shards' folds. Here the shard hands the states over as two packed strings and goes on; the
 * worker's own kafkajs clients run `KafkaChangelog.publish`, `claim` and `release` there, with the
 * same transactional ids, so ownership is fenced exactly as before. Reads (`position`, `restore`)
 * stay on the main thread's `KafkaChangelog`: a restore hands every state to the shard, and reads
 * touch no producer.
 *
 * Errors come back with their class (`ChangelogFencedError`, `ValidationError`, `RetriableError`,
 * `RetriesExhaustedError`, `CoelhoError`), so callers treat them as they would on one thread. Each
 * call is bounded by `CALL_TIMEOUT_MS`; a worker that dies fails what it holds, and the next call
 * starts a new one (whose producers re-initialise the ids, as a restarted shard's would).
 */
import {
  CoelhoError,
  RetriableError,
  RetriesExhaustedError,
  ValidationError,
} from "../../errors.ts";
import { logLevel } from "../../logger.ts";
import {
  type PackedBytes,
  type PackedStrings,
  packBytes,
  packStrings,
} from "../../packed-strings.ts";
import type { ShardChangelog, SourcePosition } from "../../shard/changelog.ts";
import type { JournalAppend, JournalEntry } from "../../shard/entity-model.ts";
import { type Unidentified, WorkerCalls } from "../../worker-calls.ts";
import {
  ChangelogFencedError,
  createKafkaChangelog,
  type KafkaChangelog,
  type KafkaChangelogOptions,
  validateStates,
} from "./changelog.ts";
import type {
  ChangelogWorkerInit,
  FromChangelogWorker,
  SerializedError,
  ToChangelogWorker,
} from "./changelog-worker-protocol.ts";
import type { KafkaLog } from "./kafka-log.ts";

/** Longest any call may take: above a publish's own retries and the shard's publish timeout. */
const CALL_TIMEOUT_MS = 120_000;

/** Rebuilds an error of the worker as the class it was there. */
export function deserializeError(error: SerializedError): Error {
  const rebuilt = (() => {
    switch (error.name) {
      case "ChangelogFencedError":
        return new ChangelogFencedError(error.message, error.partition ?? -1);
      case "ValidationError":
        return Object.assign(new ValidationError("", error.message), { path: error.path ?? "" });
      case "RetriableError":
        return new RetriableError(error.message);
      case "RetriesExhaustedError":
        return Object.assign(new RetriesExhaustedError("", error.attempts ?? 0, null), {
          message: error.message,
        });
      default:
        if (error.code !== undefined) return new CoelhoError(error.code, error.message);
        return Object.assign(new Error(error.message), { name: error.name });
    }
  })();
  return rebuilt;
}

export class WorkerKafkaChangelog implements ShardChangelog {
  /** The changelog topic, `<appId>-<usecase>-changelog`. */
  readonly topic: string;
  private initialised: Promise<void> | null = null;
  private closed = false;
  private readonly calls = new WorkerCalls<ToChangelogWorker, FromChangelogWorker>({
    url: new URL("./changelog-worker.ts", import.meta.url),
    timeoutMs: CALL_TIMEOUT_MS,
    name: "the changelog worker",
    failed: (_what, reply) => deserializeError(reply.error),
    lost: (what, reason) => new CoelhoError("changelog_worker", `${what}: ${reason}`),
    // A new worker must open its own clients before its first call.
    onWorkerLost: () => {
      this.initialised = null;
    },
  });

  /** @internal use `createWorkerKafkaChangelog` */
  constructor(
    private readonly reader: KafkaChangelog,
    private readonly init: ChangelogWorkerInit,
  ) {
    this.topic = reader.topic;
  }

  async publish(
    partition: number,
    states: Iterable<[string, Uint8Array]>,
    positions: SourcePosition[],
    journal: JournalAppend | null = null,
  ): Promise<void> {
    // Checked here: packing would turn a number into text before the worker could refuse it.
    const entries = validateStates(states);
    const keys = new Array<string>(entries.length);
    const values = new Array<Uint8Array>(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as [string, Uint8Array];
      keys[i] = entry[0];
      values[i] = entry[1];
    }
    await this.publishPacked(partition, packStrings(keys), packBytes(values), positions, journal);
  }

  /** Strings and bytes by construction; the worker's changelog checks the keys as `publish` does. */
  async publishPacked(
    partition: number,
    keys: PackedStrings,
    states: PackedBytes,
    positions: SourcePosition[],
    journal: JournalAppend | null = null,
  ): Promise<void> {
    // Posted as a copy: the shard then hands the journal's bytes over to its checkpoint writer.
    await this.call(`publish ${this.topic}/${partition}`, {
      type: "publish",
      partition,
      keys,
      states,
      positions,
      journal,
    });
  }

  async claim(partition: number): Promise<void> {
    await this.call(`claim ${this.topic}/${partition}`, { type: "claim", partition });
  }

  position(partition: number, topic?: string): Promise<number | null> {
    return this.reader.position(partition, topic);
  }

  restore(
    partition: number,
    visit: (key: string, state: Uint8Array) => void,
    journal?: (entry: JournalEntry) => void,
  ): Promise<SourcePosition[]> {
    return this.reader.restore(partition, visit, journal);
  }

  async release(partition: number): Promise<void> {
    if (!this.calls.started) return;
    await this.call(`release ${this.topic}/${partition}`, { type: "release", partition });
  }

  /** Releases every partition, disconnects the worker's clients and stops it. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.calls.started) await this.calls.call(`close ${this.topic}`, { type: "close" });
    } finally {
      this.calls.terminate("the changelog is closed");
      await this.reader.close();
    }
  }

  private async call(what: string, message: Unidentified<ToChangelogWorker>): Promise<void> {
    if (this.closed) {
      throw new CoelhoError("changelog_closed", `${what}: the changelog is closed`);
    }
    this.initialised ??= this.calls
      .call(`start the changelog worker for ${this.topic}`, { type: "init", init: this.init })
      .catch((error: unknown) => {
        this.initialised = null;
        throw error;
      });
    await this.initialised;
    await this.calls.call(what, message);
  }
}

/**
 * The Kafka changelog of one use case's shards, writing from a worker thread (see above). Options
 * as `createKafkaChangelog`'s, checked here, so a bad one fails at once on the caller's thread.
 * @throws ValidationError naming the option that is wrong.
 */
export function createWorkerKafkaChangelog(
  log: KafkaLog,
  options: KafkaChangelogOptions,
): WorkerKafkaChangelog {
  const reader = createKafkaChangelog(log, options);
  const { logger: _logger, ...changelog } = options;
  return new WorkerKafkaChangelog(reader, {
    log: log.cloneableOptions("changelog"),
    changelog,
    logLevel: logLevel(),
  });
}
