/**
 * The live state machines of this process (shard lifecycles, drift detectors, rollouts, retraining),
 * so the API can show them (`GET /api/v1/machines`) without knowing what each one is.
 * A machine registers a `snapshot` function; the registry never holds a machine's state itself.
 */

/** What the API shows of one machine. */
export interface MachineSnapshot {
  /** What sort of machine: "shard", "drift-detector", "rollout", "retraining", ... */
  kind: string;
  /** Unique within its kind, e.g. "fraud-3" or "fraud/amount/psi". */
  name: string;
  /** The use case it belongs to, when it belongs to one. */
  usecase?: string;
  /** The machine's current state value, e.g. "running" or "warning". */
  state: string;
  /** Small JSON-safe details (scores, counts, versions); never entity data. */
  context?: Record<string, unknown>;
}

export interface RegisteredMachine {
  kind: string;
  name: string;
  usecase?: string;
  snapshot(): { state: string; context?: Record<string, unknown> };
}

/** Upper bound on registered machines: a leak (register without unregister) fails loudly. */
const MAX_MACHINES = 10_000;

export class MachineRegistry {
  private readonly machines = new Map<string, RegisteredMachine>();

  /** Registers a machine; returns the function that unregisters it. Same kind+name replaces. */
  register(machine: RegisteredMachine): () => void {
    const id = `${machine.kind}\u0000${machine.name}`;
    if (!this.machines.has(id) && this.machines.size >= MAX_MACHINES) {
      throw new Error(
        `machine registry: more than ${MAX_MACHINES} machines; one is never unregistered`,
      );
    }
    this.machines.set(id, machine);
    return () => {
      if (this.machines.get(id) === machine) this.machines.delete(id);
    };
  }

  /** Snapshots of every machine, optionally of one kind and/or use case, sorted by kind and name. */
  list(filter: { kind?: string; usecase?: string } = {}): MachineSnapshot[] {
    const out: MachineSnapshot[] = [];
    for (const machine of this.machines.values()) {
      if (filter.kind !== undefined && machine.kind !== filter.kind) continue;
      if (filter.usecase !== undefined && machine.usecase !== filter.usecase) continue;
      const { state, context } = machine.snapshot();
      out.push({
        kind: machine.kind,
        name: machine.name,
        ...(machine.usecase !== undefined ? { usecase: machine.usecase } : {}),
        state,
        ...(context !== undefined ? { context } : {}),
      });
    }
    return out.sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
  }
}

/** The process's registry (one platform per process). Tests may build their own. */
export const machines = new MachineRegistry();
