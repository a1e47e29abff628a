/**
 * The rollout line's words, from a rollout machine's snapshot (`/api/v1/machines`): no DOM here,
 * so the server's tests can check every state's sentence.
 */

interface Interval {
  difference: number;
  low: number;
  high: number;
  level: number;
}

export interface RolloutMachine {
  state: string;
  context?: {
    version?: number | null;
    reason?: string;
    labelled?: number;
    comparison?: { labelled: number; positives: number; interval?: Interval };
  };
}

const signed = (v: number) => `${v >= 0 ? "+" : "−"}${Math.abs(v).toFixed(3)}`;

/** What a person reads about the rollout, in one line. */
export function describeRollout(machine: RolloutMachine | undefined): string {
  if (!machine || machine.state === "idle") return "no rollout: the champion serves alone";
  const c = machine.context ?? {};
  const version = c.version ? `v${c.version}` : "the challenger";
  if (machine.state === "shadow" || machine.state === "canary") {
    const window = `${c.labelled ?? 0} labelled events in this step`;
    const i = c.comparison?.interval;
    const evidence = i
      ? `; last look: PR-AUC difference ${signed(i.difference)} (${Math.round(i.level * 100)} % interval ${signed(i.low)} to ${signed(i.high)}) on ${c.comparison?.labelled} events, ${c.comparison?.positives} positives`
      : "; no look yet";
    return `${version} in ${machine.state}: ${window}${evidence}`;
  }
  return `${version} ${machine.state.replace("_", " ")}${c.reason ? `: ${c.reason}` : ""}`;
}
