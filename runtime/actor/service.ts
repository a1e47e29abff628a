/**
 * A {@link Supervisable} made from an async start function, for things that are not actors but
 * must be started, stopped and restarted in order with them: an HTTP server, a consumer, a timer.
 *
 * `start` gets a `fail` callback to report a crash after startup (a server socket that died);
 * it returns the function that stops what it started.
 */

import { within } from "../deadline.ts";
import type { ExitReason, Supervisable } from "./types.ts";

export type ServiceStart = (fail: (error: unknown) => void) => Promise<() => Promise<void>>;

export function service(id: string, start: ServiceStart): Supervisable {
  const listeners: ((reason: ExitReason) => void)[] = [];
  let stopRunning: (() => Promise<void>) | null = null;
  let run = 0;
  const exit = (reason: ExitReason) => {
    for (const listener of listeners) listener(reason);
  };
  return {
    id,
    async start() {
      const thisRun = ++run;
      stopRunning = await start((error) => {
        // Only the current run may fail; a late report from a stopped run is ignored.
        if (thisRun !== run || !stopRunning) return;
        const stop = stopRunning;
        stopRunning = null;
        void stop().catch(() => {});
        exit({ kind: "failed", error });
      });
    },
    async stop(timeoutMs: number) {
      const stop = stopRunning;
      stopRunning = null;
      run++;
      if (!stop) return;
      await within(stop(), timeoutMs);
      exit({ kind: "normal" });
    },
    onExit(listener) {
      listeners.push(listener);
    },
  };
}
