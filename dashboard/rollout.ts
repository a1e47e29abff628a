/**
 * The rollout line under the models table: where the use case's rollout stands (as this instance
 * sees it) and the evidence of its current step, from `/api/v1/machines`.
 */
import { byId, getJson } from "./dom.ts";
import { describeRollout, type RolloutMachine } from "./rollout-text.ts";

export async function refreshRollout(usecase: string): Promise<void> {
  const { status, body } = await getJson<{
    machines: (RolloutMachine & { kind: string; usecase?: string })[];
  }>("/api/v1/machines");
  if (status !== 200) return;
  const machine = body.machines.find((m) => m.kind === "rollout" && m.usecase === usecase);
  byId("rollout-status").textContent = describeRollout(machine);
}
