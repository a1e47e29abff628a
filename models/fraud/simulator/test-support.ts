/** For the simulator's tests: a run of the producer until it produced a number of transactions. */
import { type FraudSimulatorOptions, startFraudSimulator } from "./producer.ts";
import type { ResumePoint } from "./resume.ts";

/**
 * Runs the simulator on `log` until it produced `count` transactions, then stops it (which saves
 * the labels it owes). Returns where it resumed from, if it did, and how many owed labels it took
 * over from the run before.
 */
export async function runSimulatorFor(
  count: number,
  options: Omit<FraudSimulatorOptions, "count">,
): Promise<{ resumed: ResumePoint | null; owed: number }> {
  let resumed: ResumePoint | null = null;
  let owed = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const stop = startFraudSimulator({
    ...options,
    count,
    onResume: (point) => {
      resumed = point;
    },
    onPendingLabels: (labels) => {
      owed = labels;
    },
    onProgress: (n) => {
      if (n >= count) done();
    },
  });
  await finished;
  await stop();
  return { resumed, owed };
}
