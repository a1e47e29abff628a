/**
 * An OTP-style supervisor: starts children in order, stops them in reverse, restarts them by
 * strategy when they exit, and fails to its parent when restarts come too often.
 *
 * - Strategies: `one_for_one` restarts the child that exited; `one_for_all` stops the others in
 *   reverse order and restarts all in order; `rest_for_one` stops the children started after it
 *   (in reverse) and restarts it and them in order.
 * - Restart types: `permanent` is always restarted (a normal exit too, as OTP does), `transient`
 *   only after a failure, `temporary` never (it is removed when it exits or is stopped).
 * - Intensity: more than `maxRestarts` restarts within `periodMs` makes the supervisor stop all
 *   its children in reverse order and exit `failed` with an {@link EscalationError}.
 * - Each restart waits `min(backoffMaxMs, backoffMinMs * 2^(n-1))`, n being the restarts inside
 *   the current intensity window, so a crash loop slows down before it escalates.
 *
 * Everything the supervisor does (start, stop, restarts, dynamic children) runs one operation at
 * a time, like an OTP supervisor's message loop, so two children failing together are handled
 * one after the other. A consequence: a child must not await its own supervisor's
 * `startChild`/`terminateChild` from inside its `start()` (that would wait for itself).
 *
 * A supervisor started again (by its parent, after an escalation or a stop) starts all its
 * children again, dynamic ones included, so refs that others hold stay valid.
 */

import { TIMED_OUT, within } from "../deadline.ts";
import { EscalationError } from "../errors.ts";
import { log } from "../logger.ts";
import { escalations, restarts } from "../metrics.ts";
import { backoffMs } from "../retry.ts";
import { ON_STOP_MIN_MS } from "./actor.ts";
import type {
  ChildSpec,
  ExitReason,
  RestartType,
  Supervisable,
  SupervisorOptions,
} from "./types.ts";

/**
 * Extra time past a child's `shutdownMs` before it counts as hung: room for its own bookkeeping
 * and for an actor's onStop, which gets at least ON_STOP_MIN_MS after a drain that timed out.
 */
const STOP_GRACE_MS = ON_STOP_MIN_MS + 250;

export type ChildState = "idle" | "starting" | "running" | "stopping" | "stopped" | "failed";

/** One child as {@link Supervisor.which} reports it. */
export interface ChildInfo {
  id: string;
  state: ChildState;
  restart: RestartType;
  /** Added with `startChild` rather than given to the constructor. */
  dynamic: boolean;
}

export type SupervisorStatus = "idle" | "starting" | "running" | "stopping" | "stopped" | "failed";

interface ChildRecord {
  spec: ChildSpec;
  /** Built by `spec.create()` on the first start, then kept for the supervisor's lifetime. */
  child: Supervisable | undefined;
  state: ChildState;
  dynamic: boolean;
  /**
   * Bumped at every start and stop: an exit queued for handling is dropped if the child was
   * started or stopped again in the meantime (by a group restart, or a stop).
   */
  generation: number;
}

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * @example
 * const root = new Supervisor(
 *   "root",
 *   { strategy: "one_for_one", maxRestarts: 3, periodMs: 60_000, backoffMinMs: 100, backoffMaxMs: 5_000 },
 *   [{ id: "counter", create: () => counter, restart: "permanent", shutdownMs: 5_000 }],
 * );
 * await root.start();
 */
export class Supervisor implements Supervisable {
  readonly id: string;
  private readonly options: SupervisorOptions;
  private readonly staticRecords: ChildRecord[];
  /** Children in start order. */
  private children: ChildRecord[] = [];
  private readonly recordOf = new WeakMap<Supervisable, ChildRecord>();
  private state: SupervisorStatus = "idle";
  /** Restart times (ms, monotonic) inside the intensity window; at most maxRestarts + 1 long. */
  private restartTimesMs: number[] = [];
  private operations: Promise<unknown> = RESOLVED;
  private stopRequested = false;
  private wakeSleeper: (() => void) | undefined;
  private readonly exitListeners: ((reason: ExitReason) => void)[] = [];
  private readonly restartsCounter: { inc(): void };
  private readonly escalationsCounter: { inc(): void };

  constructor(id: string, options: SupervisorOptions, children: ChildSpec[]) {
    this.id = id;
    validateOptions(id, options);
    const ids = new Set<string>();
    for (const spec of children) {
      if (ids.has(spec.id)) {
        throw new Error(
          `supervisor "${id}": child id "${spec.id}" is given twice; ids must be unique`,
        );
      }
      ids.add(spec.id);
    }
    this.options = { ...options };
    this.staticRecords = children.map((spec) => ({
      spec,
      child: undefined,
      state: "idle",
      dynamic: false,
      generation: 0,
    }));
    this.children = [...this.staticRecords];
    this.restartsCounter = restarts.labels(id);
    this.escalationsCounter = escalations.labels(id);
    // The series exist at 0 from the start, so rates and alerts read 0 rather than nothing.
    restarts.inc({ supervisor: id }, 0);
    escalations.inc({ supervisor: id }, 0);
  }

  get status(): SupervisorStatus {
    return this.state;
  }

  /** The children, in start order, with their current state. */
  which(): ChildInfo[] {
    return this.children.map((record) => ({
      id: record.spec.id,
      state: record.state,
      restart: record.spec.restart,
      dynamic: record.dynamic,
    }));
  }

  onExit(listener: (reason: ExitReason) => void): void {
    this.exitListeners.push(listener);
  }

  /**
   * Starts every child in order. A child whose start fails counts as a failure (restarted per
   * strategy and intensity); if the intensity is exceeded the started children are stopped and
   * this rejects with an {@link EscalationError} (no exit event: the run never began).
   */
  start(): Promise<void> {
    return this.serially(async () => {
      if (this.state === "running" || this.state === "starting") return;
      this.state = "starting";
      this.stopRequested = false;
      this.restartTimesMs = [];
      const dynamic = this.children.filter((record) => record.dynamic);
      this.children = [...this.staticRecords, ...dynamic];
      try {
        await this.startInOrder(this.children);
      } catch (error) {
        if (!(error instanceof EscalationError)) throw error;
        await this.giveUp(error);
        throw error;
      }
      this.state = "running";
    });
  }

  /**
   * Stops the children in reverse start order, each within its `shutdownMs` and all within
   * `timeoutMs`; a child that does not stop in time is abandoned (logged). Then exits `normal`.
   */
  stop(timeoutMs: number): Promise<void> {
    if (this.state === "running" || this.state === "starting") {
      // Cut a backoff short: nobody wants a restart of what is being stopped.
      this.stopRequested = true;
      this.wakeSleeper?.();
    }
    return this.serially(async () => {
      if (this.state !== "running") return;
      this.state = "stopping";
      const deadlineMs = performance.now() + timeoutMs;
      await this.stopInReverse(this.children, deadlineMs);
      this.state = "stopped";
      this.emitExit({ kind: "normal" });
    });
  }

  /**
   * Adds a child at the end of the start order and starts it. Rejects (and forgets the child)
   * when its start fails, or when the id is taken or the supervisor is not running.
   */
  startChild(spec: ChildSpec): Promise<void> {
    return this.serially(async () => {
      if (this.state !== "running") {
        throw new Error(
          `supervisor "${this.id}" is ${this.state}; start it before adding child "${spec.id}"`,
        );
      }
      if (this.children.some((record) => record.spec.id === spec.id)) {
        throw new Error(
          `supervisor "${this.id}": child "${spec.id}" already exists; terminate it first or use another id`,
        );
      }
      const record: ChildRecord = {
        spec,
        child: undefined,
        state: "idle",
        dynamic: true,
        generation: 0,
      };
      this.children.push(record);
      try {
        await this.startOne(record);
      } catch (error) {
        this.remove(record);
        await record.child?.stop(0).catch(() => {});
        throw error;
      }
    });
  }

  /** Stops the child within its `shutdownMs` and removes it. Resolves false if there is none. */
  terminateChild(id: string): Promise<boolean> {
    return this.serially(async () => {
      const record = this.children.find((candidate) => candidate.spec.id === id);
      if (record === undefined) return false;
      await this.stopOne(record, record.spec.shutdownMs);
      this.remove(record);
      return true;
    });
  }

  // ---- reacting to exits ---------------------------------------------------------------------

  private childExited(record: ChildRecord, reason: ExitReason): void {
    // An exit we asked for (stopping), or from a child we no longer run, needs no decision.
    // "starting" counts: an actor may crash on its first message before its start() resolves.
    if (record.state !== "running" && record.state !== "starting") return;
    if (!this.children.includes(record)) return;
    record.state = reason.kind === "failed" ? "failed" : "stopped";
    const generation = record.generation;
    this.serially(() => this.handleExit(record, reason, generation)).catch((error: unknown) => {
      // A bug in the supervisor itself: say so loudly rather than lose it.
      log.error("supervisor could not handle a child exit", this.fields(record, { error }));
    });
  }

  private async handleExit(
    record: ChildRecord,
    reason: ExitReason,
    generation: number,
  ): Promise<void> {
    if (this.state !== "running" || !this.children.includes(record)) return;
    // Another restart (one_for_all, rest_for_one) or a stop already dealt with this child.
    if (record.generation !== generation) return;
    const failed = reason.kind === "failed";
    const error = failed ? reason.error : undefined;
    if (!shouldRestart(record.spec.restart, failed)) {
      if (failed) {
        log.warn("child failed; not restarted", this.fields(record, { error }));
        // Release what it still holds (an actor's kept mailbox goes to dead letters).
        await record.child?.stop(0).catch(() => {});
      }
      if (record.spec.restart === "temporary") this.remove(record);
      return;
    }
    try {
      await this.restart(record, error, failed ? "failed" : "exited");
    } catch (escalation) {
      if (!(escalation instanceof EscalationError)) throw escalation;
      await this.giveUp(escalation);
      this.emitExit({ kind: "failed", error: escalation });
    }
  }

  /** Counts one restart and applies the strategy; throws EscalationError past the intensity. */
  private async restart(record: ChildRecord, error: unknown, how: string): Promise<void> {
    const n = this.countRestart(record, error);
    const group = this.groupFor(record);
    // Failed siblings are not stopped: they keep their mailbox and are restarted with the group.
    const running = group.filter((other) => other !== record && other.state === "running");
    await this.stopInReverse(running, Number.POSITIVE_INFINITY);
    const delayMs = backoffMs(n, this.options.backoffMinMs, this.options.backoffMaxMs);
    log.warn(`child ${how}; restarting`, {
      ...this.fields(record, { error }),
      strategy: this.options.strategy,
      restarting: group.map((member) => member.spec.id),
      backoffMs: delayMs,
    });
    await this.sleep(delayMs);
    if (this.stopRequested) return;
    await this.startInOrder(group.filter((member) => this.children.includes(member)));
  }

  /**
   * Starts `group` in order. A start that fails counts as a restart: one_for_all stops what it
   * started of the group and begins again; otherwise the same child is retried after backoff.
   */
  private async startInOrder(group: ChildRecord[]): Promise<void> {
    let index = 0;
    while (index < group.length && !this.stopRequested) {
      const record = group[index] as ChildRecord;
      if (!this.children.includes(record)) {
        index++;
        continue;
      }
      try {
        await this.startOne(record);
        index++;
      } catch (error) {
        if (record.spec.restart === "temporary") {
          log.warn("temporary child failed to start; removed", this.fields(record, { error }));
          this.remove(record);
          index++;
          continue;
        }
        const n = this.countRestart(record, error);
        if (this.options.strategy === "one_for_all") {
          const started = group.slice(0, index).filter((member) => member.state === "running");
          await this.stopInReverse(started, Number.POSITIVE_INFINITY);
          index = 0;
        }
        const delayMs = backoffMs(n, this.options.backoffMinMs, this.options.backoffMaxMs);
        log.warn("child failed to start; retrying", {
          ...this.fields(record, { error }),
          backoffMs: delayMs,
        });
        await this.sleep(delayMs);
      }
    }
  }

  private async startOne(record: ChildRecord): Promise<void> {
    record.generation++;
    record.state = "starting";
    try {
      const child = this.childOf(record);
      await child.start();
      // Unless it already exited (its exit is queued for handling after this operation).
      if (record.state === "starting") record.state = "running";
    } catch (error) {
      // The failed start is handled here; an exit it may also have reported is stale.
      record.generation++;
      record.state = "failed";
      throw error;
    }
  }

  /** Builds the child on first use and subscribes to its exits once. */
  private childOf(record: ChildRecord): Supervisable {
    if (record.child === undefined) {
      const child = record.spec.create();
      if (!this.recordOf.has(child)) {
        child.onExit((reason) => {
          const current = this.recordOf.get(child);
          if (current !== undefined) this.childExited(current, reason);
        });
      }
      record.child = child;
    }
    this.recordOf.set(record.child, record);
    return record.child;
  }

  /** The children a restart of `record` involves, in start order. */
  private groupFor(record: ChildRecord): ChildRecord[] {
    const { strategy } = this.options;
    if (strategy === "one_for_one") return [record];
    const from = strategy === "one_for_all" ? 0 : this.children.indexOf(record);
    const group: ChildRecord[] = [];
    for (const member of this.children.slice(from)) {
      if (member === record) group.push(member);
      // A sibling stopped on purpose (a transient that ended) stays stopped; temporary ones are
      // stopped by the strategy but never restarted (OTP), so they leave the group and the list.
      else if (member.state === "running" || member.state === "failed") group.push(member);
    }
    return group;
  }

  /**
   * Records a restart at now; returns n, the restarts inside the window (for the backoff).
   * Throws an EscalationError when that is more than the intensity allows.
   */
  private countRestart(record: ChildRecord, error: unknown): number {
    const nowMs = performance.now();
    const times = this.restartTimesMs;
    times.push(nowMs);
    while (times.length > 0 && nowMs - (times[0] as number) > this.options.periodMs) times.shift();
    if (times.length > this.options.maxRestarts) {
      throw new EscalationError(this.id, record.spec.id, this.options, error);
    }
    this.restartsCounter.inc();
    return times.length;
  }

  /** Past the intensity: stop everything in reverse order and end this run failed. */
  private async giveUp(escalation: EscalationError): Promise<void> {
    this.escalationsCounter.inc();
    log.error("supervisor restart intensity exceeded; stopping its children and failing upward", {
      supervisor: this.id,
      child: escalation.child,
      maxRestarts: this.options.maxRestarts,
      periodMs: this.options.periodMs,
      error: escalation.cause,
    });
    this.state = "stopping";
    await this.stopInReverse(this.children, Number.POSITIVE_INFINITY);
    this.state = "failed";
  }

  // ---- stopping ------------------------------------------------------------------------------

  /** Stops `records` last-started first; temporary ones are removed once stopped. */
  private async stopInReverse(records: ChildRecord[], deadlineMs: number): Promise<void> {
    for (let i = records.length - 1; i >= 0; i--) {
      const record = records[i] as ChildRecord;
      const remainingMs = Math.max(0, deadlineMs - performance.now());
      await this.stopOne(record, Math.min(record.spec.shutdownMs, remainingMs));
      if (record.spec.restart === "temporary") this.remove(record);
    }
  }

  /** Stops one child within `timeoutMs` (+ a little grace); gives up on it after that. */
  private async stopOne(record: ChildRecord, timeoutMs: number): Promise<void> {
    const child = record.child;
    if (child === undefined || record.state === "stopped" || record.state === "idle") {
      record.state = record.state === "idle" ? "idle" : "stopped";
      return;
    }
    // Marked first, so the exit event the stop causes is not taken for a crash.
    record.state = "stopping";
    record.generation++;
    const stopped = child.stop(timeoutMs).then(
      () => true,
      (error: unknown) => {
        log.error("child stop threw; treated as stopped", this.fields(record, { error }));
        return true;
      },
    );
    if ((await within(stopped, timeoutMs + STOP_GRACE_MS)) === TIMED_OUT) {
      log.error("child did not stop within its shutdown time; abandoned", {
        supervisor: this.id,
        child: record.spec.id,
        shutdownMs: timeoutMs,
      });
    }
    record.state = "stopped";
  }

  private remove(record: ChildRecord): void {
    const index = this.children.indexOf(record);
    if (index >= 0) this.children.splice(index, 1);
  }

  // ---- plumbing ------------------------------------------------------------------------------

  /** Runs `operation` after every operation queued before it; a failure does not break the queue. */
  private serially<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.operations.then(operation);
    this.operations = result.catch(() => {});
    return result;
  }

  /** A backoff wait that `stop()` cuts short. */
  private sleep(delayMs: number): Promise<void> {
    if (delayMs <= 0 || this.stopRequested) return RESOLVED;
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakeSleeper = undefined;
        resolve();
      };
      const timer = setTimeout(done, delayMs);
      this.wakeSleeper = done;
    });
  }

  private emitExit(reason: ExitReason): void {
    for (const listener of this.exitListeners) {
      try {
        listener(reason);
      } catch (error) {
        log.error("supervisor exit listener threw", { supervisor: this.id, error });
      }
    }
  }

  private fields(record: ChildRecord, extra: Record<string, unknown>): Record<string, unknown> {
    return { supervisor: this.id, child: record.spec.id, restart: record.spec.restart, ...extra };
  }
}

function shouldRestart(restart: RestartType, failed: boolean): boolean {
  if (restart === "permanent") return true;
  if (restart === "transient") return failed;
  return false;
}

function validateOptions(id: string, options: SupervisorOptions): void {
  const { maxRestarts, periodMs, backoffMinMs, backoffMaxMs } = options;
  if (!Number.isSafeInteger(maxRestarts) || maxRestarts < 0) {
    throw new RangeError(
      `supervisor "${id}": maxRestarts ${maxRestarts} is not valid; expected an integer ≥ 0`,
    );
  }
  if (!(periodMs > 0)) {
    throw new RangeError(`supervisor "${id}": periodMs ${periodMs} is not valid; expected > 0`);
  }
  if (!(backoffMinMs >= 0) || !(backoffMaxMs >= backoffMinMs)) {
    throw new RangeError(
      `supervisor "${id}": backoff ${backoffMinMs}..${backoffMaxMs} ms is not valid; expected 0 ≤ backoffMinMs ≤ backoffMaxMs`,
    );
  }
}
