/**
 * The top of the supervision tree: where a failure has nowhere left to go.
 *
 * When the root supervisor fails (it exceeded its restart intensity, or could not start), the
 * process writes one fatal line and exits 1, so Kubernetes restarts the pod with a clean slate
 * (DESIGN.md, "Actors and supervision"). A graceful stop (SIGTERM) stops the tree within a bound
 * and exits 0.
 */

import { TIMED_OUT, within } from "../deadline.ts";
import { log } from "../logger.ts";
import type { Supervisable } from "./types.ts";

/** Extra time past the stop bound before a hung stop is given up on. */
const STOP_GRACE_MS = 1_000;

export interface RootOptions {
  /** Last words before exiting 1 (flush a buffer); must be quick and synchronous. */
  onFatal?: (error: unknown) => void;
  /** Replaces `process.exit` (tests). */
  exit?: (code: number) => void;
}

/**
 * Starts `root` and watches it: if it fails, now or later, logs
 * `{"level":"fatal","msg":"root supervisor failed: <reason>","supervisor":"<id>"}` once on stderr
 * and exits with code 1. Resolves once the root has started (or the failure was handled).
 *
 * @example
 * await runRoot(root);
 * shutdownOnSignals(root, { timeoutMs: 30_000 });
 */
export async function runRoot(root: Supervisable, options: RootOptions = {}): Promise<void> {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let dead = false;
  const die = (error: unknown): void => {
    if (dead) return; // one line, one exit, whatever reports the failure first
    dead = true;
    log.fatal(`root supervisor failed: ${describe(error)}`, { supervisor: root.id });
    try {
      options.onFatal?.(error);
    } catch {
      // Exiting matters more than last words.
    }
    exit(1);
  };
  root.onExit((reason) => {
    if (reason.kind === "failed") die(reason.error);
  });
  try {
    await root.start();
  } catch (error) {
    die(error);
  }
}

export interface StopRootOptions {
  /** Bound for the whole stop (e.g. the pod's grace period minus a margin). */
  timeoutMs: number;
  /** Replaces `process.exit` (tests). */
  exit?: (code: number) => void;
}

/**
 * Stops `root` (children in reverse start order, queues drained) within `timeoutMs`, then exits 0.
 * A stop that hangs past the bound exits 1 instead: something did not finish its final work.
 */
export async function stopRoot(root: Supervisable, options: StopRootOptions): Promise<void> {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  try {
    const outcome = await within(root.stop(options.timeoutMs), options.timeoutMs + STOP_GRACE_MS);
    if (outcome === TIMED_OUT) {
      log.error("graceful stop did not finish in time; exiting anyway", {
        supervisor: root.id,
        timeoutMs: options.timeoutMs,
      });
      exit(1);
      return;
    }
  } catch (error) {
    log.error("graceful stop failed", { supervisor: root.id, error });
    exit(1);
    return;
  }
  log.info("stopped", { supervisor: root.id });
  exit(0);
}

/**
 * Calls {@link stopRoot} once on the first of `signals` (SIGTERM and SIGINT by default).
 * Returns a function that removes the handlers.
 */
export function shutdownOnSignals(
  root: Supervisable,
  options: StopRootOptions & { signals?: NodeJS.Signals[] },
): () => void {
  const signals = options.signals ?? ["SIGTERM", "SIGINT"];
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info("stopping", { signal, supervisor: root.id, timeoutMs: options.timeoutMs });
    void stopRoot(root, options);
  };
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
