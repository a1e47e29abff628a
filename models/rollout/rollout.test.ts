import { describe, expect, test } from "bun:test";
import { MachineRegistry } from "../../runtime/introspection/machines.ts";
import { type PlatformEvent, PlatformEvents } from "../../runtime/introspection/platform-events.ts";
import { tempDirs } from "../../test/support/temp-dirs.ts";
import { newVersion } from "../registry/registry-contract.ts";
import { openSqliteRegistry } from "../registry/sqlite-registry.ts";
import { seededRandom } from "../trainers/rng.ts";
import { keyShare, Rollout } from "./rollout.ts";

const temp = tempDirs();

async function setup() {
  const dir = temp.make("coelho-rollout-");
  const registry = await openSqliteRegistry({ dataDir: dir });
  await registry.register(newVersion("fraud"));
  await registry.register(newVersion("fraud"));
  await registry.setAlias("fraud", "champion", 1);
  const bus = new PlatformEvents();
  const events: PlatformEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const machines = new MachineRegistry();
  const rollout = new Rollout({
    usecase: "fraud",
    registry,
    machines,
    events: bus,
    policy: { shadowLabelsMin: 1000, canaryLabelsMin: 1000, positivesMin: 10, canaryShare: 0.25 },
  });
  return { registry, rollout, events, machines };
}

/**
 * `n` labelled events scored by both models; the champion is informative, the challenger is
 * informative or pure noise.
 */
function feed(rollout: Rollout, from: number, n: number, challengerGood: boolean, seed: number) {
  const random = seededRandom(seed);
  const ids: string[] = [];
  const champion: number[] = [];
  const challenger: number[] = [];
  const labels: (0 | 1)[] = [];
  for (let i = 0; i < n; i++) {
    const label: 0 | 1 = random() < 0.03 ? 1 : 0;
    ids.push(`tx-${from + i}`);
    const signal = label === 1 ? 0.6 + random() * 0.4 : random() * 0.7;
    champion.push(signal);
    challenger.push(challengerGood ? Math.min(1, signal + 0.05) : random());
    labels.push(label);
  }
  rollout.observeScored(ids, champion, challenger, String(rollout.version));
  ids.forEach((id, i) => {
    rollout.observeLabel(id, labels[i] as 0 | 1);
  });
}

describe("rollout", () => {
  test("a good challenger goes shadow → canary → promoted: the champion alias moves to it", async () => {
    const { registry, rollout, events, machines } = await setup();
    await rollout.start(2);
    expect((await registry.alias("fraud", "challenger"))?.version).toBe(2);
    expect(rollout.state).toBe("shadow");
    expect(rollout.canary()).toBeNull();
    feed(rollout, 0, 1200, true, 1);
    await rollout.settled();
    expect(rollout.state).toBe("canary");
    const plan = rollout.canary();
    expect(plan?.version).toBe(2);
    // About a quarter of the cards, always the same ones.
    const keys = Array.from({ length: 4000 }, (_, i) => `card-${i}`);
    const share = keys.filter((k) => plan?.includes(k)).length / keys.length;
    expect(share).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(0.3);
    expect(keys.filter((k) => plan?.includes(k))).toEqual(keys.filter((k) => keyShare(k) < 0.25));
    feed(rollout, 10_000, 1200, true, 2);
    await rollout.settled();
    expect(rollout.state).toBe("promoted");
    expect((await registry.alias("fraud", "champion"))?.version).toBe(2);
    expect(await registry.alias("fraud", "challenger")).toBeNull();
    expect(events.filter((e) => e.type === "model").map((e) => e.data.action)).toEqual([
      "shadow",
      "canary",
      "promoted",
    ]);
    expect(machines.list({ kind: "rollout" })[0]?.state).toBe("promoted");
    // A manual rollback returns to the champion before the promotion.
    expect(await rollout.rollback()).toEqual({ version: 1 });
    expect((await registry.alias("fraud", "champion"))?.version).toBe(1);
    rollout.stop();
    await registry.close();
  });

  test("a challenger that degrades during canary is rolled back; the champion never changes", async () => {
    const { registry, rollout, events } = await setup();
    await rollout.start(2);
    feed(rollout, 0, 1200, true, 3);
    await rollout.settled();
    expect(rollout.state).toBe("canary");
    feed(rollout, 10_000, 1200, false, 4);
    await rollout.settled();
    expect(rollout.state).toBe("rolled_back");
    expect(rollout.reason).toContain("worse than the champion");
    expect((await registry.alias("fraud", "champion"))?.version).toBe(1);
    expect(await registry.alias("fraud", "challenger")).toBeNull();
    expect(rollout.canary()).toBeNull();
    expect(events.at(-1)?.data.action).toBe("rolled_back");
    rollout.stop();
    await registry.close();
  });

  test("a challenger the inference actor dropped (it failed) is rolled back", async () => {
    const { registry, rollout } = await setup();
    await rollout.start(2);
    rollout.checkServing("2");
    rollout.checkServing(null);
    await rollout.settled();
    expect(rollout.state).toBe("rolled_back");
    expect(rollout.reason).toContain("failed");
    expect((await registry.alias("fraud", "champion"))?.version).toBe(1);
    rollout.stop();
    await registry.close();
  });
});
