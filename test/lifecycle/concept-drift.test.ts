/**
 * The MLOps loop end to end in accelerated event time: a champion trained on 20 days of history
 * serves a stream in which a new fraud pattern appears (concept drift) on day 26. Drift must be
 * detected, a retraining must run (worker thread) and pass validation, the challenger must be
 * shadowed, go to canary and be promoted, and the online PR-AUC must recover; no event is left
 * unscored across the promotion. Then a candidate trained on shuffled labels is rejected at
 * validation and the champion stays. Prints the detection delay and the recovery time.
 */
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import type { PlatformEvent } from "../../runtime/introspection/platform-events.ts";
import { DAY_MS, LifecycleHarness, START_MS } from "./harness.ts";

setDefaultTimeout(300_000);

const DRIFT_AT_MS = START_MS + 26 * DAY_MS;
const harness = new LifecycleHarness({
  seed: 11,
  cards: 2000,
  historyDays: 20,
  drift: [{ scenario: "concept", atMs: DRIFT_AT_MS }],
  lifecycle: {
    drift: { window: { windowMs: DAY_MS } },
    triggers: { cooldownMs: 3000 },
    retraining: { windowMs: 10 * DAY_MS, rowsMin: 5000, candidates: 2, timeoutMs: 120_000 },
    rollout: { shadowLabelsMin: 3000, canaryLabelsMin: 3000, positivesMin: 20, canaryShare: 0.2 },
  },
});

afterAll(() => harness.stop());

test("concept drift: detected, retrained, shadowed, canaried, promoted; PR-AUC recovers; nothing unscored", async () => {
  const seen: PlatformEvent[] = [];
  harness.events.subscribe((e) => seen.push(e));
  const first = await harness.start();
  await harness.runUntil(DRIFT_AT_MS);
  const before = harness.prAuc(START_MS + 21 * DAY_MS, DRIFT_AT_MS);
  // Run until a new champion serves (or 25 simulated days pass).
  const deadline = DRIFT_AT_MS + 25 * DAY_MS;
  while (harness.clockMs < deadline && (harness.watcher.serving()?.version ?? first) === first) {
    await harness.runUntil(harness.clockMs + DAY_MS / 4);
  }
  const promotedAtMs = harness.clockMs;
  const drifts = seen.filter((e) => e.type === "drift" && e.data.state === "drift");
  const driftAtMs = Number(drifts[0]?.data.eventTimeMs ?? Number.NaN);
  const models = seen.filter((e) => e.type === "model").map((e) => String(e.data.action));
  const runs = seen.filter((e) => e.type === "retraining" && e.data.stage === "done");
  console.log(
    `detection: ${((driftAtMs - DRIFT_AT_MS) / 3_600_000).toFixed(1)} simulated hours after the drift (${drifts[0]?.data.detector}/${drifts[0]?.data.feature}); promoted ${((promotedAtMs - DRIFT_AT_MS) / 3_600_000).toFixed(1)} h after it; rollout: ${models.join(" → ")}; runs: ${runs.map((r) => r.data.outcome).join(", ")}`,
  );
  for (const d of seen.filter((e) => e.type === "drift")) {
    console.log(
      `  drift event: ${d.data.detector}/${d.data.feature} ${d.data.previous} → ${d.data.state} at day ${((Number(d.data.eventTimeMs) - START_MS) / DAY_MS).toFixed(2)} (score ${Number(d.data.score).toFixed(3)})`,
    );
  }
  for (const r of runs)
    console.log(`  run ${r.data.run}: ${r.data.outcome} ${JSON.stringify(r.data.reasons)}`);
  expect(drifts.length).toBeGreaterThan(0);
  expect(driftAtMs).toBeGreaterThanOrEqual(DRIFT_AT_MS);
  expect(runs.some((r) => r.data.outcome === "promoted")).toBe(true);
  expect(models).toContain("shadow");
  expect(models).toContain("canary");
  expect(models).toContain("promoted");
  expect(harness.watcher.serving()?.version).toBeGreaterThan(first);

  // Recovery: the days after the promotion against the drifted days before it.
  const during = harness.prAuc(DRIFT_AT_MS, driftAtMs);
  await harness.runUntil(promotedAtMs + 4 * DAY_MS);
  const after = harness.prAuc(promotedAtMs + DAY_MS, promotedAtMs + 4 * DAY_MS);
  console.log(
    `online PR-AUC: before the drift ${before.prAuc.toFixed(3)}, drifted ${during.prAuc.toFixed(3)} (${during.positives} frauds), after the promotion ${after.prAuc.toFixed(3)} (${after.positives} frauds)`,
  );
  expect(after.prAuc).toBeGreaterThan(during.prAuc);

  // Zero dropped or unscored events across the promotion: one score per transaction.
  const scores = await harness.log.endOffset("fraud.scores", 0);
  expect(scores).toBe(harness.transactions);

  // The training run is recorded with its lineage.
  const champion = await harness.registry.alias("fraud", "champion");
  expect(champion?.trainingData.offsets[0]?.topic).toBe("fraud.examples");
  expect(champion?.trainingData.offsets[0]?.toOffset).toBeGreaterThan(0);
});

test("a candidate trained on shuffled labels is rejected at validation; the champion is unchanged", async () => {
  // Automatic runs go on beside the drill: drift that persists after the promotion retrains each
  // cooldown (drift:persisting, seen in one CI run, where that run passed and went to shadow).
  // One still going is returned instead of starting the drill's, and its rollout moves the
  // aliases. So the drill waits for a quiet lifecycle (no run, no challenger; the stream goes on
  // for a rollout to end), and is asked again when the run returned was an automatic one.
  const quiet = async () => {
    for (let i = 0; i < 400; i++) {
      const busy = harness.lifecycle.retraining?.busy === true;
      if (!busy && (await harness.registry.alias("fraud", "challenger")) === null) return;
      if (busy) await Bun.sleep(100);
      else await harness.runUntil(harness.clockMs + DAY_MS / 8);
    }
    throw new Error("the lifecycle never came to rest before the drill");
  };
  let champion: Awaited<ReturnType<typeof harness.registry.alias>> = null;
  let result: Awaited<ReturnType<typeof harness.commands.run>> | null = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    await quiet();
    champion = await harness.registry.alias("fraud", "champion");
    result = await harness.commands.run("fraud", "retrain", {
      reason: "drill",
      shuffleLabels: true,
      wait: true,
    });
    if ((result.params as { shuffledLabels?: boolean } | undefined)?.shuffledLabels) break;
  }
  if (!result) throw new Error("the drill was never asked for");
  console.log(
    `shuffled-label candidate: ${result.outcome}: ${(result.reasons as string[]).join("; ")}`,
  );
  expect((result.params as { shuffledLabels: boolean }).shuffledLabels).toBe(true);
  expect(result.outcome).toBe("rejected");
  expect((result.reasons as string[]).join(" ")).toContain("PR-AUC");
  expect((await harness.registry.alias("fraud", "champion"))?.version).toBe(champion?.version);
  expect(await harness.registry.alias("fraud", "challenger")).toBeNull();
});
