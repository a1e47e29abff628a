/**
 * The flag-reason sampler: each explained flag counts once under its first reason, at most
 * FLAG_REASONS_PER_SECOND a second per use case, and nothing is asked of a champion that cannot
 * explain itself.
 */
import { describe, expect, test } from "bun:test";
import type { ScoreAlert } from "../../models/index.ts";
import type { ServingModel } from "./champion-watcher.ts";
import {
  FLAG_REASONS_PER_SECOND,
  FlagReasonSampler,
  type FlagReasonSource,
  flagReasons,
} from "./flag-reasons.ts";

async function count(usecase: string, feature: string): Promise<number> {
  const { values } = await flagReasons.get();
  return (
    values.find((v) => v.labels.usecase === usecase && v.labels.feature === feature)?.value ?? 0
  );
}

/** A use case whose every score is an explained flag with these contributions. */
function source(contributions: Record<string, number>, explainable = true) {
  const asked: { max: number; explain: number }[] = [];
  const champion = { version: 1, explainer: explainable ? {} : null } as unknown as ServingModel;
  const src: FlagReasonSource = {
    champion: () => champion,
    api: {
      alerts(scores, _features, _champion, max, explain): ScoreAlert[] {
        asked.push({ max, explain });
        return scores.slice(0, max).map((_, i) => ({
          key: `card-${i}`,
          score: 0.9,
          modelVersion: 1,
          record: {},
          drivers: {},
          ...(i < explain ? { contributions } : {}),
        }));
      },
    },
  };
  return { src, asked };
}

describe("FlagReasonSampler", () => {
  test("counts each explained flag under the feature that added most to its score", async () => {
    const { src } = source({ ip_new: 1.5, device_new: 3.2, amount_zscore: 0.4 });
    const sampler = new FlagReasonSampler(
      () => src,
      () => 1_000,
    );
    sampler.onScored("reasons-a", [{}, {}], new Float32Array(0));
    expect(await count("reasons-a", "device_new")).toBe(2);
    expect(await count("reasons-a", "ip_new")).toBe(0);
  });

  test(`explains at most ${FLAG_REASONS_PER_SECOND} flags a second per use case`, async () => {
    const { src, asked } = source({ merchant_new: 2 });
    let now = 5_000;
    const sampler = new FlagReasonSampler(
      () => src,
      () => now,
    );
    const batch = Array.from({ length: 4 }, () => ({}));
    for (let i = 0; i < 3; i++) sampler.onScored("reasons-b", batch, new Float32Array(0));
    expect(await count("reasons-b", "merchant_new")).toBe(FLAG_REASONS_PER_SECOND);
    // The third batch of the second found no budget left and asked nothing.
    expect(asked.map((a) => a.explain)).toEqual([5, 1]);
    now = 6_000;
    sampler.onScored("reasons-b", batch, new Float32Array(0));
    expect(await count("reasons-b", "merchant_new")).toBe(FLAG_REASONS_PER_SECOND + 4);
    // Another use case has a budget of its own.
    sampler.onScored("reasons-c", batch, new Float32Array(0));
    expect(await count("reasons-c", "merchant_new")).toBe(4);
  });

  test("a champion that cannot explain itself, or no scoring at all, counts nothing", async () => {
    const { src, asked } = source({ ip_new: 1 }, false);
    new FlagReasonSampler(() => src).onScored("reasons-d", [{}], new Float32Array(0));
    new FlagReasonSampler(() => null).onScored("reasons-d", [{}], new Float32Array(0));
    expect(asked).toEqual([]);
    expect(await count("reasons-d", "ip_new")).toBe(0);
  });
});
