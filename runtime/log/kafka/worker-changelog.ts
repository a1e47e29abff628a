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
import { packStrings } from "../../packed-strings.ts";
import type { ShardChangelog, SourcePosition } from "../../shard/changelog.ts";
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

type Outgoing = ToChangelogWorker extends infer M
  ? M extends { id: number }
    ? Omit<M, "id">
    : never
  : never;

interface Waiting {
  what: string;
  resolve: () => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class WorkerKafkaChangelog implements ShardChangelog {
  /** The changelog topic, `<appId>-<usecase>-changelog`. */
  readonly topic: string;
  private worker: Worker | null = null;
  private initialised: Promise<void> | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();
  private closed = false;

  /** @internal use `createWorkerKafkaChangelog` */
  constructor(
    private readonly reader: KafkaChangelog,
    private readonly init: ChangelogWorkerInit,
  ) {
    this.topic = reader.topic;
  }

  async publish(
    partition: number,
    states: Iterable<[string, string]>,
    positions: SourcePosition[],
  ): Promise<void> {
    // Checked here: packing would turn a number into text before the worker could refuse it.
    const entries = validateStates(states);
    const keys = new Array<string>(entries.length);
    const values = new Array<string>(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as [string, string];
      keys[i] = entry[0];
      values[i] = entry[1];
    }
    await this.call(`publish ${this.topic}/${partition}`, {
      type: "publish",
      partition,
      keys: packStrings(keys),
      states: packStrings(values),
      positions,
    });
  }

  async claim(partition: number): Promise<void> {
    await this.call(`claim ${this.topic}/${partition}`, { type: "claim", partition });
  }

  position(partition: number): Promise<number | null> {
    return this.reader.position(partition);
  }

  restore(
    partition: number,
    visit: (key: string, state: string) => void,
  ): Promise<SourcePosition[]> {
    return this.reader.restore(partition, visit);
  }

  async release(partition: number): Promise<void> {
    if (!this.worker) return;
    await this.call(`release ${this.topic}/${partition}`, { type: "release", partition });
  }

  /** Releases every partition, disconnects the worker's clients and stops it. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.worker) await this.post(`close ${this.topic}`, { type: "close" });
    } finally {
      this.worker?.terminate();
      this.worker = null;
      this.failAll("the changelog is closed");
      await this.reader.close();
    }
  }

  private async call(what: string, message: Outgoing): Promise<void> {
    if (this.closed) {
      throw new CoelhoError("changelog_closed", `${what}: the changelog is closed`);
    }
    this.ensureWorker();
    this.initialised ??= this.post(`start the changelog worker for ${this.topic}`, {
      type: "init",
      init: this.init,
    }).catch((error: unknown) => {
      this.initialised = null;
      throw error;
    });
    await this.initialised;
    await this.post(what, message);
  }

  private post(what: string, message: Outgoing): Promise<void> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(
          new CoelhoError("changelog_timeout", `${what}: no answer within ${CALL_TIMEOUT_MS} ms`),
        );
      }, CALL_TIMEOUT_MS);
      this.waiting.set(id, { what, resolve, reject, timer });
      worker.postMessage({ ...message, id } as ToChangelogWorker);
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL("./changelog-worker.ts", import.meta.url).href);
    // Pending calls keep the process up by their timers; an idle worker need not.
    worker.unref();
    worker.addEventListener("message", (event: MessageEvent<FromChangelogWorker>) => {
      const reply = event.data;
      const entry = this.waiting.get(reply.id);
      if (!entry) return;
      this.waiting.delete(reply.id);
      clearTimeout(entry.timer);
      if (reply.type === "done") entry.resolve();
      else entry.reject(deserializeError(reply.error));
    });
    worker.addEventListener("error", (event: ErrorEvent) => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.initialised = null;
      this.failAll(`the changelog worker failed: ${event.message}`);
    });
    this.worker = worker;
    return worker;
  }

  private failAll(reason: string): void {
    for (const [id, entry] of this.waiting) {
      this.waiting.delete(id);
      clearTimeout(entry.timer);
      entry.reject(new CoelhoError("changelog_worker", `${entry.what}: ${reason}`));
    }
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
