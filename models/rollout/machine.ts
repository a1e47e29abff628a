/**
 * A use case's rollout as an xstate machine: idle → shadow (the challenger is scored beside the
 * champion on live events, never acted on) → canary (a share of entities get its decisions) →
 * promoted, or rolled_back from shadow or canary when it does worse than the champion or errors.
 * A new candidate starts again from idle, promoted or rolled_back. Manual PROMOTE and ROLLBACK
 * (the API's commands) skip the remaining steps.
 */
import { assign, createActor, setup } from "xstate";
import type { RolloutStateName } from "../lifecycle-metrics.ts";

export interface RolloutContext {
  /** The challenger version being rolled out (or last rolled out). */
  version: number | null;
  /** Why it was promoted or rolled back. */
  reason: string;
}

export type RolloutEvent =
  | { type: "START"; version: number }
  | { type: "SHADOW_PASSED"; reason: string }
  | { type: "CANARY_PASSED"; reason: string }
  | { type: "PROMOTE"; reason: string }
  | { type: "ROLLBACK"; reason: string };

export const rolloutMachine = setup({
  types: { context: {} as RolloutContext, events: {} as RolloutEvent },
  actions: {
    started: assign({
      version: ({ event }) => (event.type === "START" ? event.version : null),
      reason: "",
    }),
    because: assign({
      reason: ({ event }) => ("reason" in event ? event.reason : ""),
    }),
  },
}).createMachine({
  id: "rollout",
  initial: "idle",
  context: { version: null, reason: "" },
  states: {
    idle: { on: { START: { target: "shadow", actions: "started" } } },
    shadow: {
      on: {
        SHADOW_PASSED: { target: "canary", actions: "because" },
        PROMOTE: { target: "promoted", actions: "because" },
        ROLLBACK: { target: "rolled_back", actions: "because" },
        START: { target: "shadow", actions: "started", reenter: true },
      },
    },
    canary: {
      on: {
        CANARY_PASSED: { target: "promoted", actions: "because" },
        PROMOTE: { target: "promoted", actions: "because" },
        ROLLBACK: { target: "rolled_back", actions: "because" },
        START: { target: "shadow", actions: "started" },
      },
    },
    promoted: { on: { START: { target: "shadow", actions: "started" } } },
    rolled_back: { on: { START: { target: "shadow", actions: "started" } } },
  },
});

export class RolloutLifecycle {
  private readonly actor = createActor(rolloutMachine);

  constructor(onChange: (state: RolloutStateName) => void) {
    let last: string | null = null;
    this.actor.subscribe((snapshot) => {
      const state = snapshot.value as RolloutStateName;
      if (state !== last) {
        last = state;
        onChange(state);
      }
    });
    this.actor.start();
  }

  get state(): RolloutStateName {
    return this.actor.getSnapshot().value as RolloutStateName;
  }

  get context(): RolloutContext {
    return this.actor.getSnapshot().context;
  }

  /** Sends an event; false (and nothing changes) when the state does not take it. */
  send(event: RolloutEvent): boolean {
    if (!this.actor.getSnapshot().can(event)) return false;
    this.actor.send(event);
    return true;
  }

  stop(): void {
    this.actor.stop();
  }
}
