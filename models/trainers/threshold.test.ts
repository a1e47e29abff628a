import { describe, expect, test } from "bun:test";
import { ValidationError } from "../../runtime/errors.ts";
import { chooseThreshold } from "./threshold.ts";

describe("chooseThreshold", () => {
  // Positives' costs are their amounts; a review of a negative costs a fee of 20.
  const scores = [0.9, 0.8, 0.6, 0.4, 0.1];
  const labels = [1, 0, 1, 0, 1];
  const amounts = [500, 0, 40, 0, 5];

  test("minimises total cost on a hand example", () => {
    // Flag nothing 545; ≥0.9: 45; ≥0.8: 65; ≥0.6: 25; ≥0.4: 45; everything: 40.
    const c = chooseThreshold({ scores, labels, fnCost: amounts, fpCost: 20 });
    expect(c.cost).toBe(25);
    expect(c.threshold).toBeCloseTo(0.5, 12);
    expect([c.tp, c.fp, c.fn, c.flagged]).toEqual([2, 1, 1, 3]);
    expect(c.costFlagNone).toBe(545);
    expect(c.costFlagAll).toBe(40);
    expect(c.curve.map((p) => p.cost)).toEqual([545, 45, 65, 25, 45, 40]);
  });

  test("a fee on true positives too; equal costs prefer fewer flagged rows", () => {
    // 545; ≥0.9: 65; ≥0.8: 85; ≥0.6: 65; ≥0.4: 85; everything: 100.
    const c = chooseThreshold({ scores, labels, fnCost: amounts, fpCost: 20, tpCost: 20 });
    expect(c.cost).toBe(65);
    expect(c.flagged).toBe(1);
    expect(c.threshold).toBeCloseTo(0.85, 12);
  });

  test("a tie group is flagged or not as a whole", () => {
    const c = chooseThreshold({
      scores: [0.7, 0.7, 0.2],
      labels: [1, 0, 0],
      fnCost: 100,
      fpCost: 30,
    });
    expect(c.cost).toBe(30);
    expect(c.flagged).toBe(2);
    expect(c.threshold).toBeCloseTo(0.45, 12);
  });

  test("flagging nothing can win; its threshold is +Infinity", () => {
    const c = chooseThreshold({ scores: [0.9, 0.5], labels: [0, 1], fnCost: 1, fpCost: 50 });
    expect(c.flagged).toBe(0);
    expect(c.threshold).toBe(Number.POSITIVE_INFINITY);
    expect(c.cost).toBe(1);
  });

  test("the curve is thinned but keeps the chosen point", () => {
    const n = 1000;
    const s = Array.from({ length: n }, (_, i) => i / n);
    const y = s.map((v) => (v > 0.9 ? 1 : 0));
    const c = chooseThreshold({ scores: s, labels: y, fnCost: 100, fpCost: 1, curvePointsMax: 20 });
    expect(c.curve.length).toBeLessThanOrEqual(22);
    expect(c.curve.some((p) => p.threshold === c.threshold)).toBe(true);
    expect(c.cost).toBe(0);
  });

  test("bad costs are validation errors naming the row", () => {
    expect(() => chooseThreshold({ scores: [0.5], labels: [1], fnCost: [-1], fpCost: 1 })).toThrow(
      ValidationError,
    );
    expect(() => chooseThreshold({ scores: [0.5], labels: [1], fnCost: [-1], fpCost: 1 })).toThrow(
      "fnCost[0]",
    );
  });
});
