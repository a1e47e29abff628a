/**
 * The retraining loop's lifecycle as an xstate machine: idle → collecting (reading examples) →
 * training (worker thread) → validating (candidate vs champion) → registering → idle. A step that
 * fails sends FAIL and the machine returns to idle; an event that does not fit the state is a bug,
 * and the retrainer asserts it (a table of allowed transitions, as Kafka Streams keeps).
 */
import { createActor, setup } from "xstate";

export type RetrainingState = "idle" | "collecting" | "training" | "validating" | "registering";

export type RetrainingEvent =
  | { type: "START" }
  | { type: "COLLECTED" }
  | { type: "TRAINED" }
  | { type: "VALIDATED" }
  | { type: "REJECTED" }
  | { type: "REGISTERED" }
  | { type: "FAIL" };

export const retrainingMachine = setup({
  types: { events: {} as RetrainingEvent },
}).createMachine({
  id: "retraining",
  initial: "idle",
  states: {
    idle: { on: { START: "collecting" } },
    collecting: { on: { COLLECTED: "training", FAIL: "idle" } },
    training: { on: { TRAINED: "validating", FAIL: "idle" } },
    validating: { on: { VALIDATED: "registering", REJECTED: "idle", FAIL: "idle" } },
    registering: { on: { REGISTERED: "idle", FAIL: "idle" } },
  },
});

/** The machine, with transitions that must be allowed. */
export class RetrainingLifecycle {
  private readonly actor = createActor(retrainingMachine);

  constructor() {
    this.actor.start();
  }

  get state(): RetrainingState {
    return this.actor.getSnapshot().value as RetrainingState;
  }

  send(event: RetrainingEvent): void {
    const from = this.state;
    if (!this.actor.getSnapshot().can(event)) {
      throw new Error(`retraining: ${event.type} is not allowed in state ${from} (a bug)`);
    }
    this.actor.send(event);
  }

  stop(): void {
    this.actor.stop();
  }
}
