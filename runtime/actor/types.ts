/**
 * The actor runtime's public shapes. Implementations live beside this file
 * (`mailbox.ts`, `actor.ts`, `supervisor.ts`, `dead-letters.ts`).
 *
 * An actor is a behaviour (a `receive` function and lifecycle hooks) behind a stable
 * {@link ActorRef} with a bounded mailbox. Messages are processed one at a time, in order.
 * A `receive` that throws a {@link ValidationError} answers the caller (ask rejects, tell sends
 * the message to dead letters) and the actor goes on; any other throw is a failure: the actor
 * stops processing and reports to its supervisor, which decides to restart it (with a fresh
 * behaviour from the factory, the same ref and the same mailbox, the failing message dropped to
 * dead letters) or not.
 */

/** What `tell`/`send` do when the mailbox is full. */
export type OverflowPolicy =
  /** Refuse: `tell` and `send` throw MailboxFullError; the message goes to dead letters. */
  | "reject"
  /** Signal backpressure: `send` waits for room; `tell` throws MailboxFullError. */
  | "backpressure";

export interface MailboxOptions {
  /** Maximum queued messages; memory never grows past this. */
  capacity: number;
  overflow: OverflowPolicy;
}

export interface ActorContext {
  /** The actor's own ref, to hand to others or to tell itself. */
  readonly self: ActorRef<unknown, unknown>;
  readonly name: string;
  /** Number of restarts of this actor so far. */
  readonly restarts: number;
}

/** An actor's behaviour. One instance per run: a restart builds a new one from the factory. */
export interface Behavior<M, R = void> {
  /** Handle one message. The value (or promise) is the reply for `ask`. */
  receive(message: M, ctx: ActorContext): R | Promise<R>;
  /** First start. */
  onStart?(ctx: ActorContext): void | Promise<void>;
  /** Orderly stop (not called after a crash). */
  onStop?(ctx: ActorContext): void | Promise<void>;
  /** Called instead of onStart when the supervisor restarts the actor after `error`. */
  onRestart?(ctx: ActorContext, error: unknown): void | Promise<void>;
}

export interface ActorRef<M, R = void> {
  readonly name: string;
  /** Fire and forget. Throws MailboxFullError when the mailbox is full, ActorStoppedError when stopped. */
  tell(message: M): void;
  /** Enqueue, waiting for room under the backpressure policy (rejects under `reject`). */
  send(message: M): Promise<void>;
  /** Request/reply with a deadline; rejects with AskTimeoutError, the receive's error, or MailboxFullError. */
  ask(message: M, timeoutMs: number): Promise<R>;
  /** Messages waiting. */
  readonly depth: number;
  readonly capacity: number;
}

/** Why a supervised thing ended a run. */
export type ExitReason = { kind: "normal" } | { kind: "failed"; error: unknown };

/**
 * Anything a supervisor can manage: an actor, or another supervisor.
 * `start` may be called again after an exit; it begins a fresh run.
 */
export interface Supervisable {
  readonly id: string;
  start(): Promise<void>;
  /** Stop within `timeoutMs` (drain what is queued if possible, then give up). */
  stop(timeoutMs: number): Promise<void>;
  /** Called once at the end of each run: `failed` on a crash or escalation, `normal` on stop. */
  onExit(listener: (reason: ExitReason) => void): void;
}

export type RestartType =
  /** Always restarted. */
  | "permanent"
  /** Restarted only when it failed. */
  | "transient"
  /** Never restarted. */
  | "temporary";

export type Strategy = "one_for_one" | "one_for_all" | "rest_for_one";

export interface ChildSpec {
  id: string;
  /** Builds the child once; the supervisor then starts, stops and restarts it. */
  create: () => Supervisable;
  restart: RestartType;
  /** How long a stop may take before the supervisor gives up on it. */
  shutdownMs: number;
}

export interface SupervisorOptions {
  strategy: Strategy;
  /** Restart intensity: more than `maxRestarts` within `periodMs` escalates. */
  maxRestarts: number;
  periodMs: number;
  /** Delay before restart n (1-based) is min(backoffMaxMs, backoffMinMs * 2^(n-1)). */
  backoffMinMs: number;
  backoffMaxMs: number;
}
