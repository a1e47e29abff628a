/**
 * The hyperparameter search of a retraining run: random search over a small GBT space, seeded so
 * a run can be repeated. The first candidate is always the use case's defaults, so the search never
 * does worse than training once.
 */
import type { GbtParams } from "../trainers/gbt.ts";
import { seededRandom } from "../trainers/rng.ts";

const SPACE = {
  learningRate: [0.05, 0.1, 0.2],
  maxDepth: [3, 4, 5, 6],
  minSamplesLeaf: [20, 50, 100],
  subsample: [0.8, 1],
  colsampleByTree: [0.7, 1],
  lambda: [0.5, 1, 5],
} as const;

/** `count` parameter sets: `base` first, then random draws from the space (distinct). */
export function searchCandidates(base: GbtParams, count: number, seed: number): GbtParams[] {
  const random = seededRandom(seed);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;
  const out: GbtParams[] = [{ ...base }];
  const seen = new Set([JSON.stringify(base)]);
  for (let attempt = 0; out.length < count && attempt < count * 20; attempt++) {
    const maxDepth = pick(SPACE.maxDepth);
    const params: GbtParams = {
      ...base,
      learningRate: pick(SPACE.learningRate),
      maxDepth,
      // A leaf bound above 2^depth is refused: it follows the drawn depth.
      maxLeaves: Math.min(base.maxLeaves ?? 2 ** maxDepth, 2 ** maxDepth),
      minSamplesLeaf: pick(SPACE.minSamplesLeaf),
      subsample: pick(SPACE.subsample),
      colsampleByTree: pick(SPACE.colsampleByTree),
      lambda: pick(SPACE.lambda),
    };
    const key = JSON.stringify(params);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(params);
  }
  return out;
}
