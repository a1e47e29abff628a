/**
 * A drift detector's state: an xstate machine stable → warning → drift. A detector sends it one
 * SCORE per evaluation (a closed window, or every few observations of a sequential test), already
 * classified against its thresholds; the machine adds the confirmation rule: drift needs
 * `confirmations` drift-level scores in a row, so one noisy window raises a warning, not an alarm.
 * RESET (a new champion, a new reference) returns it to stable.
 */
import { assign, createActor, setup } from "xstate";

export type DriftLevel = "ok" | "warning" | "drift";
export type DriftStateName = "stable" | "warning" | "drift";

export interface DriftMachineContext {
  score: number;
  /** Drift-level scores in a row. */
  overDrift: number;
  /** Ok-level scores in a row (leaving drift needs as many as entering it). */
  underWarning: number;
  confirmations: number;
}

export type DriftMachineEvent =
  | { type: "SCORE"; score: number; level: DriftLevel }
  | { type: "RESET" };

export const driftMachine = setup({
  types: {
    context: {} as DriftMachineContext,
    events: {} as DriftMachineEvent,
    input: {} as { confirmations: number },
  },
  actions: {
    counted: assign(({ context, event }) => {
      if (event.type !== "SCORE") return {};
      return {
        score: event.score,
        overDrift: event.level === "drift" ? context.overDrift + 1 : 0,
        underWarning: event.level === "ok" ? context.underWarning + 1 : 0,
      };
    }),
    cleared: assign({ overDrift: 0, underWarning: 0, score: 0 }),
  },
  guards: {
    // The guards run before `counted`, so they count the event itself.
    confirmedDrift: ({ context, event }) =>
      event.type === "SCORE" &&
      event.level === "drift" &&
      context.overDrift + 1 >= context.confirmations,
    notOk: ({ event }) => event.type === "SCORE" && event.level !== "ok",
    ok: ({ event }) => event.type === "SCORE" && event.level === "ok",
    recovered: ({ context, event }) =>
      event.type === "SCORE" &&
      event.level === "ok" &&
      context.underWarning + 1 >= context.confirmations,
  },
}).createMachine({
  id: "drift-detector",
  initial: "stable",
  context: ({ input }) => ({
    score: 0,
    overDrift: 0,
    underWarning: 0,
    confirmations: Math.max(1, input.confirmations),
  }),
  on: { RESET: { target: ".stable", actions: "cleared" } },
  states: {
    stable: {
      on: {
        SCORE: [
          { guard: "confirmedDrift", target: "drift", actions: "counted" },
          { guard: "notOk", target: "warning", actions: "counted" },
          { actions: "counted" },
        ],
      },
    },
    warning: {
      on: {
        SCORE: [
          { guard: "confirmedDrift", target: "drift", actions: "counted" },
          { guard: "ok", target: "stable", actions: "counted" },
          { actions: "counted" },
        ],
      },
    },
    drift: {
      on: {
        SCORE: [
          { guard: "recovered", target: "stable", actions: "counted" },
          { actions: "counted" },
        ],
      },
    },
  },
});

/** A running detector machine: its state, and a callback on each change of state. */
export class DriftStateMachine {
  private readonly actor;
  private last: DriftStateName = "stable";

  constructor(
    confirmations: number,
    onChange: (to: DriftStateName, from: DriftStateName, score: number) => void,
  ) {
    this.actor = createActor(driftMachine, { input: { confirmations } });
    this.actor.subscribe((snapshot) => {
      const to = snapshot.value as DriftStateName;
      if (to === this.last) return;
      const from = this.last;
      this.last = to;
      onChange(to, from, snapshot.context.score);
    });
    this.actor.start();
  }

  get state(): DriftStateName {
    return this.last;
  }

  get score(): number {
    return this.actor.getSnapshot().context.score;
  }

  report(score: number, level: DriftLevel): void {
    this.actor.send({ type: "SCORE", score, level });
  }

  reset(): void {
    this.actor.send({ type: "RESET" });
  }

  stop(): void {
    this.actor.stop();
  }
}
