/**
 * The micro-batcher behind the inference actor: admission (bounded, in rows), batch forming,
 * one onnxruntime call per model per batch, and handing each request its scores.
 *
 * - Admission: a request's rows are copied into the {@link RowRing} at once if it has room (and
 *   nobody waits before it); otherwise the request waits (backpressure, at most
 *   `maxPendingSenders` requests) or is refused (`reject`). Rows held — queued plus being scored —
 *   never exceed the ring's capacity.
 * - Batches: the oldest rows, up to `batchMax`, are scored as soon as there are `batchMax` of
 *   them, or `waitMaxMs` after the oldest arrived, or at once when the queue is full, when
 *   `waitMaxMs` is 0, or when the oldest request is a `scoreMany` (its caller batched already). One batch at a time: the rows that arrive meanwhile form the next one, so
 *   batches grow with the load on their own.
 * - Models: a batch is scored with the pair current when it starts. A request spread over
 *   several batches (a large `scoreMany`) is pinned to the pair of its first batch, so all its
 *   rows get one model version; the next batch after a swap carries only its remaining rows.
 * - Failures: a champion failure rejects the requests of that batch; after `scorerFailuresMax`
 *   in a row {@link ScorerUnusableError} is thrown (the actor crashes). A challenger failure
 *   only drops the challenger's scores of that batch; after `scorerFailuresMax` in a row the
 *   challenger is removed. Shadow scoring must never hurt serving.
 *
 * Not an actor itself: `drain` is what the actor's `receive` runs, one at a time.
 */
import { type OnnxScorer, scoreBatch } from "../../models/onnx/session.ts";
import { Mailbox } from "../../runtime/actor/mailbox.ts";
import type { OverflowPolicy } from "../../runtime/actor/types.ts";
import { ActorStoppedError, MailboxFullError } from "../../runtime/errors.ts";
import type { Logger } from "../../runtime/logger.ts";
import { InferenceFailedError, NoChampionError, ScorerUnusableError } from "./errors.ts";
import type { InferenceMetrics } from "./inference-metrics.ts";
import type { ModelPair, ModelSlot, ModelSlots } from "./model-slots.ts";
import { RowRing } from "./row-ring.ts";

/** Batches one `drain` message runs before yielding through the mailbox again. */
export const DRAIN_BATCHES_MAX = 64;

/** One row's result. */
export interface Scored<Meta = unknown> {
  /** The champion's output (a probability for a binary model). */
  score: number;
  modelVersion: string;
  /** The challenger's output on the same row, when one is shadowing (and did not fail). */
  challengerScore?: number;
  challengerVersion?: string;
  /** What the caller passed to `score`, handed back. */
  meta?: Meta;
}

/** The result of `scoreMany`: one score per row, every row by the same model version. */
export interface ScoredMany {
  scores: Float32Array;
  modelVersion: string;
  /** Present when a challenger shadowed every batch of the request without failing. */
  challengerScores?: Float32Array;
  challengerVersion?: string;
}

export type FeatureRows = Float32Array | Float64Array;

/** A request, from `score` or `scoreMany`, until it settles. */
class Request {
  /** The caller's rows until admitted (copied into the ring then). */
  source: FeatureRows | undefined;
  /** Rows handed to batches so far. */
  packed = 0;
  /** Rows whose batch has been scored. */
  done = 0;
  /** The pair of its first batch; all its rows are scored on it. */
  pair: ModelPair | undefined;
  scores: Float32Array | undefined;
  challengerScores: Float32Array | undefined;
  challengerMissed = false;
  settled = false;
  constructor(
    readonly n: number,
    readonly single: boolean,
    readonly meta: unknown,
    readonly enqueuedMs: number,
    readonly resolve: (value: Scored | ScoredMany) => void,
    readonly reject: (error: unknown) => void,
  ) {}
  fail(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(error);
  }
}

/** The rows of one batch: which requests they belong to, in order. */
interface Batch {
  pair: ModelPair;
  start: number;
  rows: number;
  requests: Request[];
  /** Per request: its first row in this batch, how many, and where in the batch they start. */
  from: number[];
  count: number[];
  offset: number[];
}

export interface BatcherOptions {
  name: string;
  featureCount: number;
  batchMax: number;
  waitMaxMs: number;
  capacityRows: number;
  overflow: OverflowPolicy;
  maxPendingSenders: number;
  scorerFailuresMax: number;
  slots: ModelSlots;
  metrics: InferenceMetrics;
  logger: Logger;
  /** Asks the actor for a `drain` (tells it one message). Throws when the actor is stopped. */
  schedule: () => void;
}

export class Batcher {
  private readonly o: BatcherOptions;
  private readonly ring: RowRing;
  /** Admitted requests with rows not yet handed to a batch, oldest first. */
  private readonly queue: Mailbox<Request>;
  /** Requests waiting for room (backpressure). */
  private readonly waiting: Mailbox<Request>;
  private queuedRows = 0;
  private accepting = true;
  /** A `drain` message is in the mailbox. */
  private scheduled = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Bumped when the queue is given up: a batch of an older epoch must not touch it. */
  private epoch = 0;
  private inFlight: Batch | undefined;
  private championFailures = 0;
  private failingChampion: OnnxScorer | undefined;
  private challengerFailures = 0;
  private failingChallenger: OnnxScorer | undefined;
  /** Batches scored or failed so far (each is one champion call, plus one for a challenger). */
  batches = 0;

  constructor(options: BatcherOptions) {
    this.o = options;
    this.ring = new RowRing(options.capacityRows, options.featureCount, options.batchMax);
    this.queue = new Mailbox(options.capacityRows);
    this.waiting = new Mailbox(options.maxPendingSenders);
  }

  /** Rows held: queued plus being scored. Never more than `capacityRows`. */
  get pendingRows(): number {
    return this.ring.held;
  }

  /** Requests waiting for room under backpressure. */
  get waitingRequests(): number {
    return this.waiting.depth;
  }

  // ---- admission -----------------------------------------------------------------------------

  submit(
    rows: FeatureRows,
    n: number,
    single: boolean,
    meta: unknown,
  ): Promise<Scored | ScoredMany> {
    return new Promise((resolve, reject) => {
      const request = new Request(n, single, meta, performance.now(), resolve, reject);
      if (!this.accepting) {
        this.o.metrics.error("abandoned");
        reject(new ActorStoppedError(this.o.name));
        return;
      }
      if (this.o.slots.current.champion === null) {
        this.o.metrics.error("no_champion");
        reject(new NoChampionError(this.o.name));
        return;
      }
      if (this.waiting.depth === 0 && this.ring.available >= n) {
        this.admit(request, rows);
        return;
      }
      if (this.o.overflow === "reject" || !this.waiting.push(request)) {
        // Waiting requests are bounded too: past that the caller must slow down.
        this.o.metrics.error("queue_full");
        reject(new MailboxFullError(this.o.name, this.o.capacityRows));
        return;
      }
      request.source = rows;
    });
  }

  private admit(request: Request, rows: FeatureRows): void {
    this.ring.write(rows, request.n);
    this.queue.push(request);
    this.queuedRows += request.n;
    this.wake();
  }

  /** Lets waiting requests in, first come first served, while their rows fit. */
  private admitWaiting(): void {
    for (let head = this.waiting.peek(); head !== undefined; head = this.waiting.peek()) {
      if (this.ring.available < head.n) return;
      this.waiting.shift();
      const rows = head.source as FeatureRows;
      head.source = undefined;
      this.admit(head, rows);
    }
  }

  private wake(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    try {
      this.o.schedule();
    } catch {
      // Stopped: the stop gives the queue up; a restart wakes the batcher again.
      this.scheduled = false;
    }
  }

  // ---- batching ------------------------------------------------------------------------------

  /**
   * Runs the batches that are due, one at a time: every queued row when `all` (a stop), else up
   * to DRAIN_BATCHES_MAX. Arms the wait timer when the oldest rows are not due yet.
   */
  async drain(all: boolean): Promise<void> {
    this.scheduled = false;
    this.disarm();
    const epoch = this.epoch;
    for (let i = 0; all || i < DRAIN_BATCHES_MAX; i++) {
      if (this.epoch !== epoch) return;
      this.dropFailedHead();
      if (this.queuedRows === 0) return;
      if (!all && !this.due()) {
        this.arm();
        return;
      }
      await this.runBatch();
    }
    this.wake();
  }

  private due(): boolean {
    if (this.o.waitMaxMs === 0 || this.queuedRows >= this.o.batchMax) return true;
    // A full queue will not grow the batch by waiting.
    if (this.ring.available === 0 || this.waiting.depth > 0) return true;
    const head = this.queue.peek() as Request;
    // A scoreMany was batched by its caller already: waiting would only delay its one promise.
    if (!head.single) return true;
    return performance.now() - head.enqueuedMs >= this.o.waitMaxMs;
  }

  private arm(): void {
    if (this.timer !== undefined) return;
    const head = this.queue.peek() as Request;
    const delayMs = Math.max(0, head.enqueuedMs + this.o.waitMaxMs - performance.now());
    this.timer = setTimeout(this.onTimer, delayMs);
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.wake();
  };

  private disarm(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Skips what is left of a request whose earlier batch failed (it was rejected then). */
  private dropFailedHead(): void {
    let freed = false;
    for (let head = this.queue.peek(); head?.settled; head = this.queue.peek()) {
      this.queue.shift();
      const left = head.n - head.packed;
      this.ring.free(left);
      this.queuedRows -= left;
      freed = true;
    }
    // The room freed may be what a waiting request needs; nothing else would let it in.
    if (freed) this.admitWaiting();
  }

  /** Takes the oldest rows into a batch, on the head's pinned pair or the current one. */
  private pack(): Batch {
    // One batch at a time: every row held is queued, so the batch starts at the ring's head.
    assert(this.ring.held === this.queuedRows, "a batch is packed while another is in flight");
    const current = this.o.slots.current;
    const pair = (this.queue.peek() as Request).pair ?? current;
    assert(pair.champion !== null, "a batch without a champion");
    const batch: Batch = {
      pair,
      start: this.ring.head,
      rows: 0,
      requests: [],
      from: [],
      count: [],
      offset: [],
    };
    const batchMax = this.o.batchMax;
    for (
      let r = this.queue.peek();
      r !== undefined && batch.rows < batchMax;
      r = this.queue.peek()
    ) {
      if (r.pair === undefined) {
        if (pair !== current) break; // the next request starts on the current pair
        r.pair = pair;
        if (!r.single) {
          r.scores = new Float32Array(r.n);
          if (pair.challenger !== null) r.challengerScores = new Float32Array(r.n);
        }
      } else if (r.pair !== pair) {
        break;
      }
      const take = Math.min(r.n - r.packed, batchMax - batch.rows);
      batch.requests.push(r);
      batch.from.push(r.packed);
      batch.count.push(take);
      batch.offset.push(batch.rows);
      r.packed += take;
      batch.rows += take;
      if (r.packed === r.n) this.queue.shift();
    }
    this.queuedRows -= batch.rows;
    return batch;
  }

  private async runBatch(): Promise<void> {
    const batch = this.pack();
    const { pair, rows } = batch;
    const champion = pair.champion as ModelSlot;
    const challenger = pair.challenger;
    const epoch = this.epoch;
    const features = this.ring.read(batch.start, rows);
    const cols = this.o.featureCount;
    this.inFlight = batch;
    this.o.slots.begin(pair);
    let scores: Float32Array | undefined;
    let challengerScores: Float32Array | undefined;
    let championError: unknown;
    let challengerError: unknown;
    const startMs = performance.now();
    let championMs = 0;
    let challengerMs = 0;
    try {
      this.batches++;
      scores = await scoreBatch(champion.scorer, features, rows, cols);
      championMs = performance.now() - startMs;
      if (challenger !== null) {
        try {
          challengerScores = await scoreBatch(challenger.scorer, features, rows, cols);
        } catch (error) {
          challengerError = error;
        }
        challengerMs = performance.now() - startMs - championMs;
      }
    } catch (error) {
      championError = error;
    } finally {
      this.o.slots.end(pair);
    }
    if (this.epoch !== epoch) {
      // The queue was given up meanwhile (a stop that timed out, a crash): nothing to hand back.
      this.o.slots.sweep(undefined);
      return;
    }
    this.inFlight = undefined;
    this.ring.free(rows);
    const metrics = this.o.metrics;
    metrics.batchRows.observe(rows);
    if (scores === undefined) {
      this.championFailed(batch, champion, championError);
    } else {
      this.championFailures = 0;
      const series = metrics.of(champion.version, "champion");
      series.batchSeconds.observe(championMs / 1000);
      series.rowSeconds.observe(championMs / 1000 / rows);
      series.rows.inc(rows);
      if (challenger !== null) {
        if (challengerScores === undefined) this.challengerFailed(challenger, challengerError);
        else {
          this.challengerFailures = 0;
          const shadow = metrics.of(challenger.version, "challenger");
          shadow.batchSeconds.observe(challengerMs / 1000);
          shadow.rows.inc(rows);
        }
      }
      this.handOut(batch, scores, challengerScores);
    }
    this.admitWaiting();
    this.o.slots.sweep(this.queue.peek()?.pair);
    if (scores === undefined && this.championFailures >= this.o.scorerFailuresMax) {
      metrics.error("scorer_unusable");
      throw new ScorerUnusableError(
        this.o.name,
        champion.version,
        this.championFailures,
        championError,
      );
    }
  }

  /** Resolves each request whose last rows were in this batch. */
  private handOut(batch: Batch, scores: Float32Array, challengerScores: Float32Array | undefined) {
    const champion = batch.pair.champion as ModelSlot;
    const challenger = batch.pair.challenger;
    // prom-client hashes labels on every observe (≈0.65 µs): one latency per batch, that of its
    // oldest request (the batch's worst), instead of one per row.
    const doneMs = performance.now();
    const oldest = batch.requests[0] as Request;
    this.o.metrics.latencySeconds.observe((doneMs - oldest.enqueuedMs) / 1000);
    for (let i = 0; i < batch.requests.length; i++) {
      const r = batch.requests[i] as Request;
      const offset = batch.offset[i] as number;
      if (r.settled) continue;
      if (r.single) {
        r.settled = true;
        r.resolve(
          challengerScores === undefined || challenger === null
            ? { score: scores[offset] as number, modelVersion: champion.version, meta: r.meta }
            : {
                score: scores[offset] as number,
                modelVersion: champion.version,
                challengerScore: challengerScores[offset] as number,
                challengerVersion: challenger.version,
                meta: r.meta,
              },
        );
        continue;
      }
      const count = batch.count[i] as number;
      const from = batch.from[i] as number;
      (r.scores as Float32Array).set(scores.subarray(offset, offset + count), from);
      if (challengerScores !== undefined && r.challengerScores !== undefined) {
        r.challengerScores.set(challengerScores.subarray(offset, offset + count), from);
      } else {
        r.challengerMissed = true;
      }
      r.done += count;
      if (r.done < r.n) continue;
      r.settled = true;
      const result: ScoredMany = {
        scores: r.scores as Float32Array,
        modelVersion: champion.version,
      };
      if (challenger !== null && !r.challengerMissed && r.challengerScores !== undefined) {
        result.challengerScores = r.challengerScores;
        result.challengerVersion = challenger.version;
      }
      r.resolve(result);
    }
  }

  private championFailed(batch: Batch, champion: ModelSlot, cause: unknown): void {
    if (this.failingChampion !== champion.scorer) {
      this.failingChampion = champion.scorer;
      this.championFailures = 0;
    }
    this.championFailures++;
    this.o.metrics.error("batch_failed");
    this.o.logger.warn("inference batch failed; its requests are rejected", {
      actor: this.o.name,
      version: champion.version,
      rows: batch.rows,
      failuresInARow: this.championFailures,
      error: cause,
    });
    const error = new InferenceFailedError(this.o.name, champion.version, batch.rows, cause);
    for (const r of batch.requests) r.fail(error);
  }

  private challengerFailed(challenger: ModelSlot, cause: unknown): void {
    if (this.failingChallenger !== challenger.scorer) {
      this.failingChallenger = challenger.scorer;
      this.challengerFailures = 0;
    }
    this.challengerFailures++;
    this.o.metrics.error("challenger_failed");
    const fields = {
      actor: this.o.name,
      version: challenger.version,
      failuresInARow: this.challengerFailures,
      error: cause,
    };
    if (this.challengerFailures < this.o.scorerFailuresMax) {
      this.o.logger.warn("challenger failed a batch; its shadow scores are left out", fields);
      return;
    }
    if (this.o.slots.current.challenger?.scorer === challenger.scorer) {
      this.o.logger.error("challenger keeps failing; removed from shadow scoring", fields);
      this.o.metrics.error("challenger_dropped");
      this.o.slots.setChallenger(null);
    }
    this.challengerFailures = 0;
  }

  /** Releases retired models nothing uses any more (after a swap made them retire). */
  sweepModels(): void {
    this.o.slots.sweep(this.queue.peek()?.pair);
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  /** A run of the actor begins: take requests, and drain whatever is queued. */
  resume(): void {
    this.accepting = true;
    this.championFailures = 0;
    this.challengerFailures = 0;
    this.scheduled = false;
    if (this.queuedRows > 0) this.wake();
  }

  /** The actor is stopping: refuse new requests and those still waiting for room. */
  stopAccepting(): void {
    this.accepting = false;
    const error = new ActorStoppedError(this.o.name);
    const waiting = this.waiting.drainAll();
    if (waiting.length > 0) this.o.metrics.error("abandoned", waiting.length);
    for (const r of waiting) r.fail(error);
  }

  /**
   * Gives up everything held (a crash, or a stop whose drain ran out of time): every queued,
   * waiting or in-flight request is rejected with `error`, and the ring is emptied.
   */
  abandon(error: unknown): void {
    this.epoch++;
    this.disarm();
    this.scheduled = false;
    let count = 0;
    const fail = (r: Request): void => {
      if (r.settled) return;
      count++;
      r.fail(error);
    };
    for (const r of this.inFlight?.requests ?? []) fail(r);
    for (const r of this.queue.drainAll()) fail(r);
    for (const r of this.waiting.drainAll()) fail(r);
    this.inFlight = undefined;
    this.ring.clear();
    this.queuedRows = 0;
    if (count > 0) this.o.metrics.error("abandoned", count);
  }
}

function assert(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(`inference batcher invariant broken: ${what}`);
}
