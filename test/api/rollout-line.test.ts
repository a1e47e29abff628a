/**
 * The dashboard's rollout line (dashboard/rollout-text.ts) on the snapshots a real rollout
 * registers: idle, shadow before and after its first look, canary, and its end.
 */
import { expect, test } from "bun:test";
import { describeRollout, type RolloutMachine } from "../../dashboard/rollout-text.ts";
import { newVersion } from "../../models/registry/registry-contract.ts";
import { openSqliteRegistry } from "../../models/registry/sqlite-registry.ts";
import { Rollout } from "../../models/rollout/rollout.ts";
import { seededRandom } from "../../models/trainers/rng.ts";
import { MachineRegistry } from "../../runtime/introspection/machines.ts";
import { PlatformEvents } from "../../runtime/introspection/platform-events.ts";
import { tempDirs } from "../support/temp-dirs.ts";

const temp = tempDirs();

test("the rollout line reads each state of a real rollout", async () => {
  const registry = await openSqliteRegistry({ dataDir: temp.make("coelho-rollout-line-") });
  await registry.register(newVersion("fraud"));
  await registry.register(newVersion("fraud"));
  await registry.setAlias("fraud", "champion", 1);
  const machines = new MachineRegistry();
  const rollout = new Rollout({
    usecase: "fraud",
    registry,
    machines,
    events: new PlatformEvents(),
    policy: { shadowLabelsMin: 1000, canaryLabelsMin: 1000, positivesMin: 10 },
  });
  const line = () =>
    describeRollout(machines.list({ kind: "rollout" })[0] as RolloutMachine | undefined);
  try {
    expect(line()).toBe("no rollout: the champion serves alone");
    await rollout.start(2);
    expect(line()).toBe("v2 in shadow: 0 labelled events in this step; no look yet");
    // Both models see the same events; the challenger ranks them as the champion does.
    const random = seededRandom(1);
    const feed = (from: number, n: number) => {
      const ids = Array.from({ length: n }, (_, i) => `tx-${from + i}`);
      const labels = ids.map(() => (random() < 0.03 ? 1 : 0) as 0 | 1);
      const scores = labels.map((l) => (l === 1 ? 0.6 + 0.4 * random() : 0.7 * random()));
      rollout.observeScored(ids, scores, scores, "2");
      ids.forEach((id, i) => {
        rollout.observeLabel(id, labels[i] as 0 | 1);
      });
    };
    feed(0, 1200);
    await rollout.settled();
    expect(line()).toMatch(
      /^v2 in canary: 0 labelled events in this step; last look: PR-AUC difference \+0\.000 \(90 % interval \+0\.000 to \+0\.000\) on \d+ events, \d+ positives$/,
    );
    feed(10_000, 1200);
    await rollout.settled();
    expect(line()).toMatch(/^v2 promoted: challenger PR-AUC/);
  } finally {
    rollout.stop();
    await registry.close();
  }
});
