/**
 * The three kinds of error the runtime keeps apart (see DESIGN.md, "Actors and supervision").
 *
 * - {@link ValidationError}: the input is wrong. It is answered (a reply, a dead letter, a 4xx),
 *   never retried and never a crash.
 * - {@link RetriableError}: the world hiccupped (a broker restarting, a busy file). It is retried
 *   with backoff, a bounded number of times, then it becomes a failure.
 * - Anything else is a failure: the actor crashes and its supervisor decides.
 */

/** Base class: every runtime error has a stable string `code` that logs and metrics can group by. */
export class CoelhoError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The input is wrong: say which input, what was wrong and what would be right. */
export class ValidationError extends CoelhoError {
  /** Where in the input the problem is, e.g. `amount` or `location.lat`; empty for the whole input. */
  readonly path: string;
  constructor(path: string, message: string) {
    super("validation", path ? `${path}: ${message}` : message);
    this.path = path;
  }
}

/** A transient failure worth retrying with backoff. */
export class RetriableError extends CoelhoError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("retriable", message, options);
  }
}

/** Retries of a retriable operation ran out; wraps the last cause. This one is a failure. */
export class RetriesExhaustedError extends CoelhoError {
  readonly attempts: number;
  constructor(operation: string, attempts: number, cause: unknown) {
    super(
      "retries_exhausted",
      `${operation}: gave up after ${attempts} attempts: ${String((cause as Error)?.message ?? cause)}`,
      { cause },
    );
    this.attempts = attempts;
  }
}

/** A bounded queue refused a message (overflow policy `reject`). */
export class MailboxFullError extends CoelhoError {
  constructor(actor: string, capacity: number) {
    super(
      "mailbox_full",
      `${actor}: mailbox is full (capacity ${capacity}); slow down or raise it`,
    );
  }
}

/** `ask` got no answer in time. */
export class AskTimeoutError extends CoelhoError {
  constructor(actor: string, timeoutMs: number) {
    super("ask_timeout", `${actor}: no reply within ${timeoutMs} ms`);
  }
}

/** The actor is stopped (or stopping) and takes no more messages. */
export class ActorStoppedError extends CoelhoError {
  constructor(actor: string) {
    super("actor_stopped", `${actor}: actor is stopped`);
  }
}

export function isValidationError(error: unknown): error is ValidationError {
  return error instanceof ValidationError;
}

export function isRetriable(error: unknown): boolean {
  return error instanceof RetriableError;
}

/**
 * A supervisor exceeded its restart intensity: it stopped its children and fails to its parent.
 * Names the supervisor, the child that failed last, and that child's error (the `cause`).
 */
export class EscalationError extends CoelhoError {
  readonly supervisor: string;
  readonly child: string;
  constructor(
    supervisor: string,
    child: string,
    limits: { maxRestarts: number; periodMs: number },
    cause: unknown,
  ) {
    super(
      "escalation",
      `supervisor "${supervisor}": child "${child}" needed more than ${limits.maxRestarts} restarts within ${limits.periodMs} ms; last error: ${String((cause as Error)?.message ?? cause)}`,
      { cause },
    );
    this.supervisor = supervisor;
    this.child = child;
  }
}
