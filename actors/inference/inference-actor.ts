/**
 * The inference actor: scores feature rows with the champion model (and, in shadow, the
 * challenger) in micro-batches, one onnxruntime call per batch.
 *
 * It is a runtime actor (`spawn`, kind `inference`) so that it starts, stops and restarts under a
 * supervisor like the rest of the tree; its `receive` runs the due batches, one at a time. The
 * requests themselves do not travel through the mailbox: the bound that matters here is rows,
 * not messages (a shard's `scoreMany` of 500 rows is one request), and rows are copied straight
 * into a ring allocated once (`row-ring.ts`), so the queue's memory is fixed whatever the load.
 * See `batcher.ts` for the batching rules and docs/inference.md for the whole contract.
 */

import type { OnnxScorer } from "../../models/onnx/session.ts";
import { releaseOnnx } from "../../models/onnx/session.ts";
import { type ActorStatus, spawn } from "../../runtime/actor/actor.ts";
import type { ExitReason, OverflowPolicy, Supervisable } from "../../runtime/actor/types.ts";
import { ActorStoppedError, ValidationError } from "../../runtime/errors.ts";
import { type Logger, log } from "../../runtime/logger.ts";
import { inferenceQueueRows } from "../../runtime/metrics.ts";
import { Batcher, type FeatureRows, type Scored, type ScoredMany } from "./batcher.ts";
import { NoChampionError } from "./errors.ts";
import { InferenceMetrics } from "./inference-metrics.ts";
import { type ModelSlot, ModelSlots } from "./model-slots.ts";

export const BATCH_MAX_DEFAULT = 256;
export const WAIT_MAX_MS_DEFAULT = 1;
export const MAX_PENDING_SENDERS_DEFAULT = 1024;
export const SCORER_FAILURES_MAX_DEFAULT = 5;
/** Upper bounds of the options: a batch, a wait and a queue that stay sane. */
export const LIMITS = {
  featureCount: 100_000,
  batchMax: 65_536,
  waitMaxMs: 1_000,
  capacityRows: 10_000_000,
  maxPendingSenders: 1_000_000,
  scorerFailuresMax: 1_000,
} as const;

export interface InferenceActorOptions {
  /** Unique actor name (also its supervisor child id), e.g. `inference-fraud`. */
  name: string;
  /** Metric label; bounded (a use case name). Default "". */
  usecase?: string;
  /** Features per row: every row scored has exactly this many, and so has every model set. */
  featureCount: number;
  /** Rows per onnxruntime call at most. Default 256. */
  batchMax?: number;
  /** How long the oldest queued row may wait for more to batch with; 0 = never wait. Default 1. */
  waitMaxMs?: number;
  /**
   * The queue, in rows: rows held (queued plus being scored) never exceed `capacity`. When it is
   * full, `backpressure` makes requests wait (at most `maxPendingSenders` of them, then they are
   * refused) and `reject` refuses them at once; refusals are `MailboxFullError`.
   */
  mailbox: { capacity: number; overflow: OverflowPolicy };
  /** Requests that may wait for room under backpressure. Default 1024. */
  maxPendingSenders?: number;
  /** Champion batch failures in a row before the actor crashes (challenger: removed). Default 5. */
  scorerFailuresMax?: number;
  logger?: Logger;
  /** Frees a retired model's session. Default `releaseOnnx`. */
  releaseScorer?: (scorer: OnnxScorer) => Promise<void>;
}

/** The inference actor as callers and its supervisor see it. */
export interface InferenceActor extends Supervisable {
  readonly name: string;
  readonly status: ActorStatus;
  /** Queue capacity in rows. */
  readonly capacity: number;
  /** Rows held now (queued plus being scored); never more than `capacity`. */
  readonly pendingRows: number;
  /** Requests waiting for room under backpressure. */
  readonly waitingRequests: number;
  /** Batches run so far (one champion onnxruntime call each). */
  readonly batches: number;
  /** The versions being served. */
  readonly models: { champion: string | null; challenger: string | null };
  /**
   * Scores one row (`featureCount` values; NaN = missing). Resolves once its batch has run.
   * Rejects with NoChampionError, MailboxFullError (queue full), InferenceFailedError (the batch
   * failed; retriable), ValidationError (wrong length) or ActorStoppedError. Leave `features`
   * unchanged until the promise settles: rows waiting for room are copied only when admitted.
   */
  score<Meta = unknown>(features: FeatureRows, meta?: Meta): Promise<Scored<Meta>>;
  /**
   * Scores `n` rows (row-major, `n · featureCount` values; `n` defaults to all of them) as one
   * request: one promise, rows batched with everyone else's, every row by the same model version.
   * `n` must not exceed `capacity`.
   */
  scoreMany(rows: FeatureRows, n?: number): Promise<ScoredMany>;
  /** Swaps the champion between batches; the old one is released after its last batch. */
  setChampion(model: ModelSlot): void;
  /** Sets the shadow model (null removes it); its scores come back beside the champion's. */
  setChallenger(model: ModelSlot | null): void;
  /** Stops the actor and releases the champion's and challenger's sessions. */
  dispose(timeoutMs: number): Promise<void>;
}

/** Live batchers by use case, read only when Prometheus scrapes. */
const live = new Map<Batcher, string>();
(inferenceQueueRows as unknown as { collect: () => void }).collect = () => {
  inferenceQueueRows.reset();
  const sums = new Map<string, number>();
  for (const [batcher, usecase] of live) {
    sums.set(usecase, (sums.get(usecase) ?? 0) + batcher.pendingRows);
  }
  for (const [usecase, rows] of sums) inferenceQueueRows.labels(usecase).set(rows);
};

function integer(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${name}: ${value} is not valid; expected an integer in [${min}, ${max}]`);
  }
  return value;
}

/**
 * Creates an inference actor (not started: requests queue until `start()`, or until its
 * supervisor starts it).
 *
 * @example
 * const inference = createInferenceActor({
 *   name: "inference-fraud", usecase: "fraud", featureCount: 33,
 *   batchMax: 256, waitMaxMs: 1, mailbox: { capacity: 10_000, overflow: "backpressure" },
 * });
 * inference.setChampion({ version: "7", scorer: await loadOnnx(bytes, schema) });
 * await inference.start();
 * const { score, modelVersion } = await inference.score(row);
 * const { scores } = await inference.scoreMany(shardBatchRows, 500);
 */
export function createInferenceActor(options: InferenceActorOptions): InferenceActor {
  const name = options.name;
  const featureCount = integer(
    `${name}: featureCount`,
    options.featureCount,
    1,
    LIMITS.featureCount,
  );
  const batchMax = integer(
    `${name}: batchMax`,
    options.batchMax ?? BATCH_MAX_DEFAULT,
    1,
    LIMITS.batchMax,
  );
  const waitMaxMs = options.waitMaxMs ?? WAIT_MAX_MS_DEFAULT;
  if (!(waitMaxMs >= 0 && waitMaxMs <= LIMITS.waitMaxMs)) {
    throw new RangeError(
      `${name}: waitMaxMs: ${waitMaxMs} is not valid; expected [0, ${LIMITS.waitMaxMs}] ms`,
    );
  }
  const capacityRows = integer(
    `${name}: mailbox.capacity`,
    options.mailbox.capacity,
    1,
    LIMITS.capacityRows,
  );
  const overflow = options.mailbox.overflow;
  if (overflow !== "backpressure" && overflow !== "reject") {
    throw new RangeError(
      `${name}: mailbox.overflow: "${overflow}"; expected "backpressure" or "reject"`,
    );
  }
  const logger = options.logger ?? log;
  const usecase = options.usecase ?? "";
  const metrics = new InferenceMetrics(usecase);
  const slots = new ModelSlots({
    name,
    featureCount,
    release: options.releaseScorer ?? releaseOnnx,
    logger,
    metrics,
  });
  const batcher: Batcher = new Batcher({
    name,
    featureCount,
    batchMax,
    waitMaxMs,
    capacityRows,
    overflow,
    maxPendingSenders: integer(
      `${name}: maxPendingSenders`,
      options.maxPendingSenders ?? MAX_PENDING_SENDERS_DEFAULT,
      1,
      LIMITS.maxPendingSenders,
    ),
    scorerFailuresMax: integer(
      `${name}: scorerFailuresMax`,
      options.scorerFailuresMax ?? SCORER_FAILURES_MAX_DEFAULT,
      1,
      LIMITS.scorerFailuresMax,
    ),
    slots,
    metrics,
    logger,
    schedule: () => actor.tell("drain"),
  });
  const actor = spawn<"drain", void>({
    name,
    kind: "inference",
    // Only `drain` wake-ups travel here, at most two at a time (one queued, one running).
    mailbox: { capacity: 4, overflow: "reject" },
    behavior: () => ({
      onStart: () => batcher.resume(),
      onRestart: (_ctx, error) => {
        logger.warn("inference actor restarting", { actor: name, error });
        batcher.resume();
      },
      // An orderly stop scores what is queued, within the stop's time.
      onStop: () => batcher.drain(true),
      receive: () => batcher.drain(false),
    }),
  });
  actor.onExit((reason: ExitReason) => {
    // A crashed run's queue is not trusted: its requests are told now, not left hanging.
    if (reason.kind === "failed") batcher.abandon(reason.error);
  });
  live.set(batcher, usecase);

  return {
    name,
    id: actor.id,
    capacity: capacityRows,
    get status() {
      return actor.status;
    },
    get pendingRows() {
      return batcher.pendingRows;
    },
    get waitingRequests() {
      return batcher.waitingRequests;
    },
    get batches() {
      return batcher.batches;
    },
    get models() {
      const { champion, challenger } = slots.current;
      return { champion: champion?.version ?? null, challenger: challenger?.version ?? null };
    },
    score<Meta>(features: FeatureRows, meta?: Meta): Promise<Scored<Meta>> {
      if (features.length !== featureCount) {
        return Promise.reject(
          new ValidationError("features", `${features.length} values; expected ${featureCount}`),
        );
      }
      return batcher.submit(features, 1, true, meta) as Promise<Scored<Meta>>;
    },
    scoreMany(rows: FeatureRows, n = Math.floor(rows.length / featureCount)): Promise<ScoredMany> {
      if (!Number.isSafeInteger(n) || n < 0 || rows.length < n * featureCount) {
        return Promise.reject(
          new ValidationError(
            "rows",
            `${rows.length} values for ${n} rows; expected at least n · ${featureCount} and n ≥ 0`,
          ),
        );
      }
      if (n > capacityRows) {
        return Promise.reject(
          new ValidationError(
            "rows",
            `${n} rows exceed the queue capacity of ${capacityRows}; submit at most ${capacityRows} at a time`,
          ),
        );
      }
      if (n === 0) {
        const champion = slots.current.champion;
        if (champion === null) return Promise.reject(new NoChampionError(name));
        return Promise.resolve({ scores: new Float32Array(0), modelVersion: champion.version });
      }
      return batcher.submit(rows, n, false, undefined) as Promise<ScoredMany>;
    },
    setChampion(model) {
      slots.setChampion(model);
      batcher.sweepModels();
    },
    setChallenger(model) {
      slots.setChallenger(model);
      batcher.sweepModels();
    },
    start: () => actor.start(),
    async stop(timeoutMs: number) {
      batcher.stopAccepting();
      await actor.stop(timeoutMs);
      // Whatever the drain could not score in time is told, not left hanging.
      batcher.abandon(new ActorStoppedError(name));
    },
    onExit: (listener) => actor.onExit(listener),
    async dispose(timeoutMs: number) {
      await this.stop(timeoutMs);
      live.delete(batcher);
      slots.releaseAll();
    },
  };
}
