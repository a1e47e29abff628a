import { describe, expect, test } from "bun:test";
import type { Dataset } from "./dataset.ts";
import { lbfgs } from "./lbfgs.ts";
import { predictLogistic, trainLogistic } from "./logistic.ts";
import { normal, seededRandom } from "./rng.ts";

/** y ~ Bernoulli(σ(−1 + 2·a − b)), with `a` on a large scale to exercise standardisation. */
function linearProblem(rows: number, seed: number): Dataset {
  const random = seededRandom(seed);
  const x = new Float64Array(rows * 3);
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const a = normal(random);
    const b = normal(random);
    x.set([1000 + 100 * a, b, normal(random)], r * 3);
    y[r] = random() < 1 / (1 + Math.exp(-(-1 + 2 * a - b))) ? 1 : 0;
  }
  return { featureNames: ["a", "b", "noise"], rows, cols: 3, x, y };
}

describe("trainLogistic", () => {
  const ds = linearProblem(20_000, 4);

  test("recovers the generating coefficients (on the standardised scale)", () => {
    const m = trainLogistic(ds, { l2: 0 });
    expect(m.converged).toBe(true);
    // Standardised a has std ≈ 100 on the raw scale, so its weight ≈ 2 · 1 (std of a ≈ 1).
    expect(m.weights[0]).toBeCloseTo(2, 0);
    expect(m.weights[1]).toBeCloseTo(-1, 0);
    expect(Math.abs(m.weights[2] as number)).toBeLessThan(0.1);
    expect(m.mean[0]).toBeCloseTo(1000, -1);
    expect(predictLogistic(m, [1000, 0, 0])).toBeCloseTo(1 / (1 + Math.E), 1);
  });

  test("class weighting raises the predicted probability of the rare class", () => {
    const plain = trainLogistic(ds);
    const balanced = trainLogistic(ds, { scalePosWeight: "balanced" });
    const row = [1000, 0, 0];
    expect(predictLogistic(balanced, row)).toBeGreaterThan(predictLogistic(plain, row) + 0.1);
    expect(balanced.params.scalePosWeight).toBeGreaterThan(1);
  });

  test("rejects NaN features, naming row and feature", () => {
    const bad = { ...ds, x: ds.x.slice() };
    bad.x[4] = Number.NaN;
    expect(() => trainLogistic(bad)).toThrow('row 1, feature "b" is NaN');
    expect(() => trainLogistic(ds, { iterationsMax: 0 })).toThrow("iterationsMax");
  });
});

describe("lbfgs", () => {
  test("minimises an ill-conditioned quadratic", () => {
    const r = lbfgs(
      (x, g) => {
        const a = (x[0] as number) - 3;
        const b = (x[1] as number) + 1;
        g[0] = 2 * a;
        g[1] = 2000 * b;
        return a * a + 1000 * b * b;
      },
      new Float64Array(2),
      { iterationsMax: 200, gradientTolerance: 1e-9, memory: 5 },
    );
    expect(r.converged).toBe(true);
    expect(r.x[0]).toBeCloseTo(3, 8);
    expect(r.x[1]).toBeCloseTo(-1, 8);
  });
});
