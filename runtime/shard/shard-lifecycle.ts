/**
 * A shard's lifecycle as an xstate machine: the table of allowed transitions, after Kafka
 * Streams' StreamThread states. An event the current state does not allow is a bug: it throws
 * instead of being silently ignored (xstate's default).
 *
 *   assigned ─RESTORE─► restoring ─RESTORED─► running ─REVOKE─► revoking ─REVOKED─► gone
 *                          ▲   │                 │
 *                          │   └─────REVOKE──────┼──► revoking
 *                          └──────RESTART────────┘   (the shard crashed: restore again)
 */
import { type Actor, createActor, createMachine } from "xstate";

export type ShardLifecycleEvent =
  | { type: "RESTORE" }
  | { type: "RESTORED" }
  | { type: "RESTART" }
  | { type: "REVOKE" }
  | { type: "REVOKED" };

export type ShardLifecycleState = "assigned" | "restoring" | "running" | "revoking" | "gone";

export const shardLifecycleMachine = createMachine({
  id: "shard",
  types: {} as { events: ShardLifecycleEvent },
  initial: "assigned",
  states: {
    assigned: { on: { RESTORE: "restoring", REVOKE: "revoking" } },
    restoring: { on: { RESTORED: "running", REVOKE: "revoking" } },
    running: { on: { RESTART: "restoring", REVOKE: "revoking" } },
    revoking: { on: { REVOKED: "gone" } },
    gone: { type: "final" },
  },
});

export class IllegalTransitionError extends Error {
  constructor(machine: string, state: string, event: string) {
    super(`${machine}: illegal transition ${event} in state ${state}`);
    this.name = "IllegalTransitionError";
  }
}

/** One shard's lifecycle; `send` throws IllegalTransitionError on a transition the table forbids. */
export class ShardLifecycle {
  private readonly actor: Actor<typeof shardLifecycleMachine>;
  private changedAtMs = Date.now();

  constructor(readonly name: string) {
    this.actor = createActor(shardLifecycleMachine, { id: name });
    this.actor.start();
  }

  get state(): ShardLifecycleState {
    return this.actor.getSnapshot().value as ShardLifecycleState;
  }

  /** Milliseconds since the last transition. */
  get inStateMs(): number {
    return Date.now() - this.changedAtMs;
  }

  send(event: ShardLifecycleEvent): ShardLifecycleState {
    const snapshot = this.actor.getSnapshot();
    if (!snapshot.can(event)) {
      throw new IllegalTransitionError(this.name, String(snapshot.value), event.type);
    }
    this.actor.send(event);
    this.changedAtMs = Date.now();
    return this.state;
  }
}
