/**
 * An actor: a behaviour behind a stable ref with a bounded mailbox, processed one message at a time.
 *
 * The hot path is `tell` → ring buffer → a synchronous drain loop. While `receive` returns plain
 * values the loop runs without allocating a promise, reading a clock or touching a metric label
 * per message: counters are bumped once per drained batch and processing time is sampled 1 in 64.
 * A `receive` that returns a promise is awaited before the next message (and timed every time).
 * The loop yields to the event loop every {@link DRAIN_BATCH_MAX} messages so timers and I/O run.
 */

import { TIMED_OUT, within } from "../deadline.ts";
import {
  ActorStoppedError,
  AskTimeoutError,
  MailboxFullError,
  ValidationError,
} from "../errors.ts";
import { log } from "../logger.ts";
import { counterSeries } from "../metric-series.ts";
import {
  actorFailures,
  actorMessages,
  actorProcessingSeconds,
  mailboxCapacity,
  mailboxDepth,
} from "../metrics.ts";
import { deadLetterSink } from "./dead-letters.ts";
import { Mailbox } from "./mailbox.ts";
import type {
  ActorContext,
  ActorRef,
  Behavior,
  ExitReason,
  MailboxOptions,
  OverflowPolicy,
  Supervisable,
} from "./types.ts";

/** Messages processed before the drain loop yields to the event loop (timers, I/O). */
export const DRAIN_BATCH_MAX = 2048;
/** Processing time is sampled once per this many synchronous messages (a power of two). */
const SAMPLE_MASK = 63;
const DEFAULT_MAX_PENDING_SENDERS = 1024;
/**
 * onStop gets what the stop timeout leaves after draining, but at least this much: a drain that
 * used the whole budget must not cost the actor its final checkpoint.
 */
export const ON_STOP_MIN_MS = 250;

export interface SpawnOptions<M, R> {
  /** Unique, stable name; also the actor's supervisor child id. */
  name: string;
  /** Bounded metric label, e.g. `shard`; never an instance name. */
  kind: string;
  /** Builds a fresh behaviour for each run (first start and every restart). */
  behavior: () => Behavior<M, R>;
  mailbox: MailboxOptions;
  /** Bound on `send` callers waiting for room under backpressure (default 1024). */
  maxPendingSenders?: number;
}

/**
 * Where an actor is in its life. Allowed moves:
 * idle → starting → running → stopping → stopped; starting|running|stopping → failed;
 * failed|stopped → starting (a restart); idle|failed → stopped (a stop discards the mailbox).
 */
export type ActorStatus = "idle" | "starting" | "running" | "stopping" | "stopped" | "failed";

/** An actor as its owner sees it: a ref for others, and a lifecycle for its supervisor. */
export interface Actor<M, R = void> extends ActorRef<M, R>, Supervisable {
  readonly status: ActorStatus;
  readonly kind: string;
}

/**
 * Creates an actor (not started: messages queue until `start()`).
 *
 * @example
 * const counter = spawn<number, number>({
 *   name: "counter", kind: "example",
 *   behavior: () => { let n = 0; return { receive: (k) => (n += k) }; },
 *   mailbox: { capacity: 1000, overflow: "backpressure" },
 * });
 * await counter.start();
 * counter.tell(1);
 * await counter.ask(2, 1000); // 3
 */
export function spawn<M, R = void>(options: SpawnOptions<M, R>): Actor<M, R> {
  return new ActorCell(options);
}

/** An `ask` in the mailbox: the message plus where its reply goes. */
class Request<M, R> {
  settled = false;
  timer: ReturnType<typeof setTimeout> | undefined;
  constructor(
    readonly message: M,
    private readonly resolveReply: (value: R) => void,
    private readonly rejectReply: (error: unknown) => void,
  ) {}
  succeed(value: R): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.resolveReply(value);
  }
  fail(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.rejectReply(error);
  }
}

/** A `send` waiting for room under backpressure. */
interface PendingSender<M> {
  message: M;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Shared by every `send` that found room at once: no allocation on that path. */
const RESOLVED: Promise<void> = Promise.resolve();

/** Actors alive in this process, for the mailbox gauges (read at scrape time, not per message). */
const live = new Set<ActorCell<unknown, unknown>>();

class ActorCell<M, R> implements Actor<M, R> {
  readonly name: string;
  readonly id: string;
  readonly kind: string;
  readonly capacity: number;
  private readonly factory: () => Behavior<M, R>;
  private readonly policy: OverflowPolicy;
  private readonly mailbox: Mailbox<M | Request<M, R>>;
  private readonly maxPendingSenders: number;
  private senders: Mailbox<PendingSender<M>> | undefined;

  private state: ActorStatus = "idle";
  /** False once stopping: refuse new messages. */
  private accepting = true;
  /** True from the wake-up until the loop finds the mailbox empty (or the actor fails). */
  private draining = false;
  /** Run generation: a continuation scheduled by an older run must not drain this one. */
  private run = 0;
  private microtaskRun = 0;
  /** Messages processed since the last yield to the event loop. */
  private turnCount = 0;
  private sequence = 0;
  /** Time the next message when the previous one was asynchronous. */
  private timeNext = false;
  private behavior: Behavior<M, R> | undefined;
  private lastError: unknown;
  private failedRun = false;
  private restartCount = 0;
  private readonly exitListeners: ((reason: ExitReason) => void)[] = [];
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private drainedWaiter: (() => void) | undefined;
  private readonly context: ActorContext;

  // Series resolved once (runtime/metric-series.ts): prom-client hashes labels on every call.
  private readonly messagesCounter: { inc(value?: number): void };
  private readonly validationCounter: { inc(): void };
  private readonly failureCounter: { inc(): void };
  private readonly processingHistogram: { observe(value: number): void };

  constructor(options: SpawnOptions<M, R>) {
    this.name = options.name;
    this.id = options.name;
    this.kind = options.kind;
    this.factory = options.behavior;
    this.policy = options.mailbox.overflow;
    this.mailbox = new Mailbox(options.mailbox.capacity);
    this.capacity = this.mailbox.capacity;
    this.maxPendingSenders = options.maxPendingSenders ?? DEFAULT_MAX_PENDING_SENDERS;
    if (!Number.isSafeInteger(this.maxPendingSenders) || this.maxPendingSenders < 1) {
      throw new RangeError(
        `${this.name}: maxPendingSenders ${this.maxPendingSenders} is not valid; expected an integer ≥ 1`,
      );
    }
    this.messagesCounter = counterSeries(actorMessages, { kind: this.kind });
    this.validationCounter = actorFailures.labels(this.kind, "validation");
    this.failureCounter = actorFailures.labels(this.kind, "failure");
    actorFailures.inc({ kind: this.kind, error: "failure" }, 0); // a rate reads 0, not nothing
    this.processingHistogram = actorProcessingSeconds.labels({ kind: this.kind });
    const self = this;
    this.context = {
      self: this as ActorRef<unknown, unknown>,
      name: this.name,
      get restarts() {
        return self.restartCount;
      },
    };
    live.add(this as ActorCell<unknown, unknown>);
  }

  get status(): ActorStatus {
    return this.state;
  }

  get depth(): number {
    return this.mailbox.depth;
  }

  // ---- messages ------------------------------------------------------------------------------

  tell(message: M): void {
    if (!this.accepting) throw new ActorStoppedError(this.name);
    if (!this.mailbox.push(message)) this.refuse(message);
    if (!this.draining) this.wake();
  }

  send(message: M): Promise<void> {
    if (!this.accepting) return Promise.reject(new ActorStoppedError(this.name));
    if (this.mailbox.push(message)) {
      if (!this.draining) this.wake();
      return RESOLVED;
    }
    if (this.policy === "reject") {
      this.deadLetter(message, "mailbox_full");
      return Promise.reject(new MailboxFullError(this.name, this.capacity));
    }
    // Backpressure: wait, first come first served, for a slot the drain loop hands over.
    this.senders ??= new Mailbox(this.maxPendingSenders);
    const senders = this.senders;
    return new Promise<void>((resolve, reject) => {
      if (!senders.push({ message, resolve, reject })) {
        // Waiting senders are bounded too; past that the caller must slow down.
        reject(new MailboxFullError(this.name, this.capacity));
      }
    });
  }

  ask(message: M, timeoutMs: number): Promise<R> {
    if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
      return Promise.reject(
        new RangeError(`${this.name}: ask timeoutMs ${timeoutMs} is not valid; expected > 0`),
      );
    }
    if (!this.accepting) return Promise.reject(new ActorStoppedError(this.name));
    return new Promise<R>((resolve, reject) => {
      const request = new Request<M, R>(message, resolve, reject);
      if (!this.mailbox.push(request)) {
        // An ask never waits for room: its caller has a deadline and learns at once.
        if (this.policy === "reject") this.deadLetter(message, "mailbox_full");
        reject(new MailboxFullError(this.name, this.capacity));
        return;
      }
      request.timer = setTimeout(() => {
        // The message stays queued and is still processed; only its reply is dropped.
        request.fail(new AskTimeoutError(this.name, timeoutMs));
      }, timeoutMs);
      if (!this.draining) this.wake();
    });
  }

  private refuse(message: M): never {
    if (this.policy === "reject") this.deadLetter(message, "mailbox_full");
    throw new MailboxFullError(this.name, this.capacity);
  }

  // ---- the drain loop ------------------------------------------------------------------------

  /** Idle → busy: schedule one drain. Messages queue without draining unless running or stopping. */
  private wake(): void {
    if (this.state !== "running" && this.state !== "stopping") return;
    this.draining = true;
    this.microtaskRun = this.run;
    queueMicrotask(this.drainFromMicrotask);
  }

  private readonly drainFromMicrotask = (): void => {
    if (this.microtaskRun !== this.run || !this.draining) return;
    this.turnCount = 0;
    this.drain();
  };

  private readonly drainFromMacrotask = (run: number): void => {
    if (run !== this.run || !this.draining) return;
    this.turnCount = 0;
    this.drain();
  };

  /** Processes queued messages until empty, asynchronous, failed, or the batch budget is used. */
  private drain(): void {
    const mailbox = this.mailbox;
    const behavior = this.behavior as Behavior<M, R>;
    const context = this.context;
    let budget = DRAIN_BATCH_MAX - this.turnCount;
    let processed = 0;
    while (budget > 0 && mailbox.depth > 0) {
      const item = mailbox.shift() as M | Request<M, R>;
      if (this.senders !== undefined && this.senders.depth > 0) this.admitSender();
      budget--;
      processed++;
      const timed = this.timeNext || (this.sequence++ & SAMPLE_MASK) === 0;
      const startedMs = timed ? performance.now() : 0;
      const isRequest = item instanceof Request;
      let result: R | Promise<R>;
      try {
        result = behavior.receive(isRequest ? item.message : (item as M), context);
      } catch (error) {
        if (this.handleError(item, error)) continue;
        this.messagesCounter.inc(processed);
        return;
      }
      if (isPromiseLike(result)) {
        this.messagesCounter.inc(processed);
        this.turnCount = DRAIN_BATCH_MAX - budget;
        this.awaitResult(item, result, timed ? startedMs : performance.now());
        return;
      }
      if (timed) {
        this.timeNext = false;
        this.processingHistogram.observe((performance.now() - startedMs) / 1000);
      }
      if (isRequest) item.succeed(result);
    }
    if (processed > 0) this.messagesCounter.inc(processed);
    if (mailbox.depth > 0) {
      // Budget used: let timers and I/O run, then go on. Still `draining`, so no double schedule.
      setImmediate(this.drainFromMacrotask, this.run);
      return;
    }
    this.draining = false;
    if (this.state === "stopping") this.drainedWaiter?.();
  }

  private awaitResult(item: M | Request<M, R>, result: PromiseLike<R>, startedMs: number): void {
    const run = this.run;
    this.timeNext = true;
    result.then(
      (value) => {
        if (run !== this.run) return; // the run ended (stop timed out, restart): drop it
        this.processingHistogram.observe((performance.now() - startedMs) / 1000);
        if (item instanceof Request) item.succeed(value);
        this.continueAfterAsync();
      },
      (error: unknown) => {
        if (run !== this.run) return;
        this.processingHistogram.observe((performance.now() - startedMs) / 1000);
        if (this.handleError(item, error)) this.continueAfterAsync();
      },
    );
  }

  private continueAfterAsync(): void {
    if (this.turnCount >= DRAIN_BATCH_MAX) {
      // Promises that settle at once would otherwise chain microtasks forever and starve timers.
      setImmediate(this.drainFromMacrotask, this.run);
      return;
    }
    this.drain();
  }

  /** Moves the longest-waiting `send` into the slot just freed and releases its caller. */
  private admitSender(): void {
    const sender = this.senders?.shift();
    if (sender === undefined) return;
    this.mailbox.push(sender.message);
    sender.resolve();
  }

  /** Returns true when the actor goes on (a validation error), false when it failed. */
  private handleError(item: M | Request<M, R>, error: unknown): boolean {
    const isRequest = item instanceof Request;
    const message = isRequest ? item.message : item;
    if (error instanceof ValidationError) {
      // Part of the protocol: the caller gets the answer, the actor is fine.
      this.validationCounter.inc();
      if (isRequest) item.fail(error);
      else this.deadLetter(message, error.code, error);
      return true;
    }
    this.failureCounter.inc();
    if (isRequest) item.fail(error);
    this.deadLetter(message, "failure", error);
    this.fail(error);
    return false;
  }

  /** Ends the run with a failure; the mailbox is kept for the restart. */
  private fail(error: unknown): void {
    this.run++;
    this.draining = false;
    this.timeNext = false;
    this.behavior = undefined;
    this.lastError = error;
    this.failedRun = true;
    const wasStopping = this.state === "stopping";
    this.state = "failed";
    if (wasStopping) this.drainedWaiter?.();
    this.emitExit({ kind: "failed", error });
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  /**
   * Begins a run with a fresh behaviour from the factory: onRestart(ctx, error) if the last run
   * failed, onStart otherwise; then drains whatever the mailbox kept. Rejects (leaving the actor
   * failed, with no exit event) if the factory or the hook throws.
   */
  start(): Promise<void> {
    if (this.starting !== undefined) return this.starting;
    if (this.state === "running") {
      return Promise.reject(new Error(`${this.name}: start() while running; stop it first`));
    }
    const starting = this.startRun();
    this.starting = starting;
    const settled = (): void => {
      if (this.starting === starting) this.starting = undefined;
    };
    starting.then(settled, settled);
    return starting;
  }

  private async startRun(): Promise<void> {
    if (this.state === "stopping") await this.stopping;
    const isRestart = this.failedRun;
    if (this.state !== "idle") this.restartCount++;
    this.state = "starting";
    this.accepting = true;
    this.run++;
    live.add(this as ActorCell<unknown, unknown>);
    try {
      const behavior = this.factory();
      if (isRestart) await behavior.onRestart?.(this.context, this.lastError);
      else await behavior.onStart?.(this.context);
      this.behavior = behavior;
    } catch (error) {
      // The run never began, so no exit event: the caller (a supervisor) sees the rejection.
      this.state = "failed";
      this.failedRun = true;
      this.lastError = error;
      throw error;
    }
    this.failedRun = false;
    this.state = "running";
    if (this.mailbox.depth > 0) this.wake();
  }

  /**
   * Refuses new messages, drains the queue for up to `timeoutMs` (the rest goes to dead letters
   * and its asks reject), runs onStop (see {@link ON_STOP_MIN_MS}), then exits `normal`.
   * On an actor that is not running (never started, or failed) it only discards the queue.
   */
  stop(timeoutMs: number): Promise<void> {
    switch (this.state) {
      case "stopped":
        return RESOLVED;
      case "stopping":
        return this.stopping as Promise<void>;
      case "starting":
        return (this.starting as Promise<void>).then(
          () => this.stop(timeoutMs),
          () => this.stop(timeoutMs),
        );
      case "idle":
      case "failed":
        // No run in progress (never started, or its failure was already reported).
        this.discard();
        this.state = "stopped";
        live.delete(this as ActorCell<unknown, unknown>);
        return RESOLVED;
      case "running":
        this.stopping = this.stopRun(timeoutMs);
        return this.stopping;
    }
  }

  private async stopRun(timeoutMs: number): Promise<void> {
    const deadlineMs = performance.now() + timeoutMs;
    this.state = "stopping";
    this.accepting = false;
    this.rejectSenders();
    await this.waitDrained(timeoutMs);
    const behavior = this.behavior;
    // A receive may have failed while draining (fail() moves the state on under our feet).
    const failed = (this.state as ActorStatus) === "failed";
    // Whatever is still in flight belongs to a run that is over.
    this.run++;
    this.draining = false;
    this.behavior = undefined;
    this.discard();
    if (!failed && behavior?.onStop !== undefined) {
      await this.runOnStop(behavior, Math.max(ON_STOP_MIN_MS, deadlineMs - performance.now()));
    }
    this.state = "stopped";
    this.stopping = undefined;
    live.delete(this as ActorCell<unknown, unknown>);
    if (!failed) this.emitExit({ kind: "normal" });
  }

  private waitDrained(timeoutMs: number): Promise<void> {
    if (!this.draining && this.mailbox.depth === 0) return RESOLVED;
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.drainedWaiter = undefined;
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.drainedWaiter = done;
    });
  }

  private async runOnStop(behavior: Behavior<M, R>, remainingMs: number): Promise<void> {
    try {
      const outcome = await within(Promise.resolve(behavior.onStop?.(this.context)), remainingMs);
      if (outcome === TIMED_OUT) {
        log.warn("actor onStop did not finish within its stop timeout; abandoned", {
          actor: this.name,
          kind: this.kind,
        });
      }
    } catch (error) {
      log.error("actor onStop threw", {
        actor: this.name,
        kind: this.kind,
        error,
      });
    }
  }

  /** Sends what is still queued to dead letters and fails its asks: the actor will not get to it. */
  private discard(): void {
    this.rejectSenders();
    for (const item of this.mailbox.drainAll()) {
      const isRequest = item instanceof Request;
      if (isRequest) item.fail(new ActorStoppedError(this.name));
      this.deadLetter(isRequest ? item.message : item, "stopped");
    }
  }

  private rejectSenders(): void {
    const senders = this.senders;
    if (senders === undefined) return;
    while (senders.depth > 0) senders.shift()?.reject(new ActorStoppedError(this.name));
  }

  onExit(listener: (reason: ExitReason) => void): void {
    this.exitListeners.push(listener);
  }

  private emitExit(reason: ExitReason): void {
    for (const listener of this.exitListeners) {
      try {
        listener(reason);
      } catch (error) {
        log.error("actor exit listener threw", {
          actor: this.name,
          error,
        });
      }
    }
  }

  private deadLetter(message: unknown, reason: string, error?: unknown): void {
    deadLetterSink.publish({
      actor: this.name,
      kind: this.kind,
      reason,
      message,
      atMs: Date.now(),
      ...(error === undefined ? {} : { error }),
    });
  }
}

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as PromiseLike<T>).then === "function"
  );
}

/** Sums per kind over live actors; runs only when Prometheus scrapes. */
function collectMailboxGauges(
  gauge: typeof mailboxDepth,
  read: (a: ActorCell<unknown, unknown>) => number,
) {
  gauge.reset();
  const sums = new Map<string, number>();
  for (const actor of live) sums.set(actor.kind, (sums.get(actor.kind) ?? 0) + read(actor));
  for (const [kind, value] of sums) gauge.labels(kind).set(value);
}

// prom-client calls a gauge's `collect` on each scrape; its .d.ts only exposes it as an option.
(mailboxDepth as unknown as { collect: () => void }).collect = () =>
  collectMailboxGauges(mailboxDepth, (actor) => actor.depth);
(mailboxCapacity as unknown as { collect: () => void }).collect = () =>
  collectMailboxGauges(mailboxCapacity, (actor) => actor.capacity);
