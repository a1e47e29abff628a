import { describe, expect, test } from "bun:test";
import { seededRandom as rng } from "../trainers/rng.ts";
import { type ShapTree, TreeExplainer } from "./tree-shap.ts";

// Thresholds and many x values come from one small grid so that ties (x === threshold, which goes
// right) happen often.
const grid = [-1, -0.5, -0.25, 0, 0.25, 0.5, 1];

/** A tree that tests can edit in place. */
type Plain = Record<keyof ShapTree, number[]>;
type Builder = Omit<Plain, "defaultLeft"> & { defaultLeft: (number | boolean)[] };

/**
 * A random tree whose paths often split on a feature already used above them (the case
 * TreeSHAP has to unwind). Node order is shuffled (root kept at 0) so absolute indexing is tested.
 */
function randomTree(random: () => number, featureCount: number, maxDepth: number): ShapTree {
  const b: Builder = {
    feature: [],
    threshold: [],
    left: [],
    right: [],
    defaultLeft: [],
    value: [],
    cover: [],
  };
  const grow = (depth: number, used: number[]): number => {
    const node = b.feature.length;
    b.feature.push(-1);
    b.threshold.push(0);
    b.left.push(-1);
    b.right.push(-1);
    b.defaultLeft.push(false);
    b.value.push(random() * 2 - 1);
    b.cover.push(0);
    const split = depth < maxDepth && (depth === 0 || random() < 0.8);
    if (!split) {
      // Mostly row counts, sometimes a tiny weight (a near-empty branch).
      b.cover[node] = random() < 0.1 ? 1e-3 : 1 + Math.floor(random() * 100);
      return node;
    }
    const f =
      used.length > 0 && random() < 0.5
        ? (used[Math.floor(random() * used.length)] as number)
        : Math.floor(random() * featureCount);
    b.feature[node] = f;
    b.threshold[node] =
      random() < 0.7 ? (grid[Math.floor(random() * grid.length)] as number) : random() * 2 - 1;
    // Both spellings the interface allows.
    b.defaultLeft[node] = random() < 0.5 ? random() < 0.5 : random() < 0.5 ? 1 : 0;
    const l = grow(depth + 1, [...used, f]);
    const r = grow(depth + 1, [...used, f]);
    b.left[node] = l;
    b.right[node] = r;
    b.cover[node] = (b.cover[l] as number) + (b.cover[r] as number);
    return node;
  };
  grow(0, []);

  const n = b.feature.length;
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 1; i--) {
    const j = 1 + Math.floor(random() * i);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  // order[newIndex] = oldIndex; newOf[oldIndex] = newIndex.
  const newOf = new Int32Array(n);
  order.forEach((old, i) => {
    newOf[old] = i;
  });
  const pick = <T>(a: T[]) => order.map((old) => a[old] as T);
  const child = (c: number) => (c < 0 ? -1 : (newOf[c] as number));
  return {
    feature: Int32Array.from(pick(b.feature)),
    threshold: Float64Array.from(pick(b.threshold)),
    left: pick(b.left).map(child),
    right: pick(b.right).map(child),
    defaultLeft: pick(b.defaultLeft),
    value: Float64Array.from(pick(b.value)),
    cover: pick(b.cover),
  };
}

function randomRow(random: () => number, featureCount: number): Float64Array {
  const x = new Float64Array(featureCount);
  for (let i = 0; i < featureCount; i++) {
    const u = random();
    x[i] =
      u < 0.15
        ? Number.NaN
        : u < 0.45
          ? (grid[Math.floor(random() * grid.length)] as number)
          : random() * 2.4 - 1.2;
  }
  return x;
}

function goesLeft(tree: ShapTree, node: number, x: ArrayLike<number>): boolean {
  const v = x[tree.feature[node] as number] as number;
  return Number.isNaN(v)
    ? Boolean(tree.defaultLeft[node])
    : Math.fround(v) < (tree.threshold[node] as number);
}

/** v(S): the tree's expected output when only the features in bit mask `known` are given. */
function conditional(tree: ShapTree, x: ArrayLike<number>, known: number, node = 0): number {
  const f = tree.feature[node] as number;
  if (f < 0) return tree.value[node] as number;
  const l = tree.left[node] as number;
  const r = tree.right[node] as number;
  if (known & (1 << f)) return conditional(tree, x, known, goesLeft(tree, node, x) ? l : r);
  return (
    ((tree.cover[l] as number) * conditional(tree, x, known, l) +
      (tree.cover[r] as number) * conditional(tree, x, known, r)) /
    (tree.cover[node] as number)
  );
}

/** Shapley values by enumerating all 2^M subsets. */
function bruteForce(trees: ShapTree[], featureCount: number, x: ArrayLike<number>): Float64Array {
  const subsets = 1 << featureCount;
  const v = new Float64Array(subsets);
  for (let s = 0; s < subsets; s++) {
    for (const tree of trees) v[s] = (v[s] as number) + conditional(tree, x, s);
  }
  const factorial = [1];
  for (let i = 1; i <= featureCount; i++) factorial.push((factorial[i - 1] as number) * i);
  const phi = new Float64Array(featureCount);
  for (let i = 0; i < featureCount; i++) {
    for (let s = 0; s < subsets; s++) {
      if (s & (1 << i)) continue;
      let size = 0;
      for (let k = s; k; k &= k - 1) size++;
      const weight =
        ((factorial[size] as number) * (factorial[featureCount - size - 1] as number)) /
        (factorial[featureCount] as number);
      phi[i] = (phi[i] as number) + weight * ((v[s | (1 << i)] as number) - (v[s] as number));
    }
  }
  return phi;
}

function hasRepeatedFeatureOnPath(tree: ShapTree, node = 0, above: number[] = []): boolean {
  const f = tree.feature[node] as number;
  if (f < 0) return false;
  if (above.includes(f)) return true;
  return (
    hasRepeatedFeatureOnPath(tree, tree.left[node] as number, [...above, f]) ||
    hasRepeatedFeatureOnPath(tree, tree.right[node] as number, [...above, f])
  );
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    const tolerance = 1e-9 * Math.max(1, Math.abs(e));
    if (!(Math.abs(a - e) <= tolerance)) {
      throw new Error(`feature ${i}: got ${a}, expected ${e}`);
    }
  }
}

describe("TreeExplainer.shap matches Shapley values by subset enumeration", () => {
  test("single trees of depth 1..6 over 1..6 features, with features repeated on paths", () => {
    const random = rng(1);
    let repeated = 0;
    const cases = 400;
    for (let c = 0; c < cases; c++) {
      const featureCount = 1 + Math.floor(random() * 6);
      const tree = randomTree(random, featureCount, 1 + Math.floor(random() * 6));
      if (hasRepeatedFeatureOnPath(tree)) repeated++;
      const explainer = new TreeExplainer([tree], featureCount);
      const out = new Float64Array(featureCount);
      for (let r = 0; r < 4; r++) {
        const x = randomRow(random, featureCount);
        explainer.shap(x, out);
        expectClose(out, bruteForce([tree], featureCount, x));
      }
    }
    // The unwind path is exercised by a good share of the trees, not by luck.
    expect(repeated).toBeGreaterThan(cases / 2);
  });

  test("ensembles of 2..5 trees; v(empty) is expectedValue and v(all) is the margin", () => {
    const random = rng(2);
    for (let c = 0; c < 80; c++) {
      const featureCount = 1 + Math.floor(random() * 6);
      const trees = Array.from({ length: 2 + Math.floor(random() * 4) }, () =>
        randomTree(random, featureCount, 1 + Math.floor(random() * 6)),
      );
      const explainer = new TreeExplainer(trees, featureCount);
      const out = new Float64Array(featureCount);
      const all = (1 << featureCount) - 1;
      for (let r = 0; r < 4; r++) {
        const x = randomRow(random, featureCount);
        explainer.shap(x, out);
        expectClose(out, bruteForce(trees, featureCount, x));
        const empty = trees.reduce((s, t) => s + conditional(t, x, 0), 0);
        const full = trees.reduce((s, t) => s + conditional(t, x, all), 0);
        expect(explainer.expectedValue).toBeCloseTo(empty, 12);
        expect(explainer.margin(x)).toBeCloseTo(full, 12);
      }
    }
  });

  test("a deep chain on one feature (unwound at every level) and a leaf-only tree", () => {
    // x0 split five times in a row, x1 once at the bottom.
    const tree: Plain = {
      feature: [0, 0, 0, 0, 0, 1, -1, -1, -1, -1, -1, -1, -1],
      threshold: [0.5, 0.4, 0.3, 0.2, 0.1, 0, 0, 0, 0, 0, 0, 0, 0],
      left: [1, 2, 3, 4, 5, 11, 0, 0, 0, 0, 0, 0, 0],
      right: [6, 7, 8, 9, 10, 12, 0, 0, 0, 0, 0, 0, 0],
      defaultLeft: [1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0],
      value: [0, 0, 0, 0, 0, 0, 1, -2, 3, -4, 5, -6, 7],
      cover: [0, 0, 0, 0, 0, 0, 9, 8, 7, 6, 5, 4, 3],
    };
    for (let i = 5; i >= 0; i--) {
      tree.cover[i] =
        (tree.cover[tree.left[i] as number] as number) +
        (tree.cover[tree.right[i] as number] as number);
    }
    const leafOnly: ShapTree = {
      feature: [-1],
      threshold: [0],
      left: [-1],
      right: [-1],
      defaultLeft: [0],
      value: [0.75],
      cover: [10],
    };
    const explainer = new TreeExplainer([tree, leafOnly], 2);
    const out = new Float64Array(2);
    for (const x of [
      [0, 0],
      [0.15, 1],
      [0.45, -1],
      [Number.NaN, 0],
      [0.6, Number.NaN],
    ]) {
      explainer.shap(x, out);
      expectClose(out, bruteForce([tree, leafOnly], 2, x));
      expect(explainer.expectedValue + (out[0] as number) + (out[1] as number)).toBeCloseTo(
        explainer.margin(x),
        12,
      );
    }
  });
});

describe("TreeExplainer additivity and closed forms", () => {
  test("expectedValue + Σφ equals the margin for 50 trees over 31 features", () => {
    const random = rng(3);
    const featureCount = 31;
    const trees = Array.from({ length: 50 }, () => randomTree(random, featureCount, 6));
    const explainer = new TreeExplainer(trees, featureCount);
    const out = new Float64Array(featureCount);
    for (let r = 0; r < 300; r++) {
      const x = randomRow(random, featureCount);
      explainer.shap(x, out);
      const sum = out.reduce((s, v) => s + v, explainer.expectedValue);
      expect(Math.abs(sum - explainer.margin(x))).toBeLessThan(1e-9);
    }
  });

  test("out is overwritten and repeated calls agree (scratch is reused, not leaked)", () => {
    const random = rng(4);
    const trees = Array.from({ length: 10 }, () => randomTree(random, 8, 6));
    const explainer = new TreeExplainer(trees, 8);
    const x = randomRow(random, 8);
    const first = new Float64Array(8);
    explainer.shap(x, first);
    explainer.shap(randomRow(random, 8), new Float64Array(8));
    const again = new Float64Array(8).fill(123);
    explainer.shap(x, again);
    expect(Array.from(again)).toEqual(Array.from(first));
  });

  test("a feature no tree splits on gets exactly 0", () => {
    const random = rng(5);
    // Features 0..4 only; 5 and 6 are never used.
    const trees = Array.from({ length: 20 }, () => randomTree(random, 5, 6));
    const explainer = new TreeExplainer(trees, 7);
    const out = new Float64Array(7);
    for (let r = 0; r < 50; r++) {
      explainer.shap(randomRow(random, 7), out);
      expect(out[5]).toBe(0);
      expect(out[6]).toBe(0);
    }
  });

  test("a stump: φ = value of the branch taken − cover-weighted mean of both leaves", () => {
    const stump: ShapTree = {
      feature: [1, -1, -1],
      threshold: [0.5, 0, 0],
      left: [1, -1, -1],
      right: [2, -1, -1],
      defaultLeft: [true, false, false],
      value: [0, -0.3, 0.9],
      cover: [40, 30, 10],
    };
    const explainer = new TreeExplainer([stump], 3);
    const mean = (30 * -0.3 + 10 * 0.9) / 40;
    expect(explainer.expectedValue).toBeCloseTo(mean, 15);
    const out = new Float64Array(3);
    for (const [x1, taken] of [
      [0.2, -0.3],
      [0.5, 0.9], // a tie goes right
      [0.7, 0.9],
      [Number.NaN, -0.3], // default left
    ] as const) {
      explainer.shap([0, x1, 0], out);
      expect(out[1]).toBeCloseTo(taken - mean, 15);
      expect(out[0]).toBe(0);
      expect(out[2]).toBe(0);
      expect(explainer.margin([0, x1, 0])).toBe(taken);
    }
  });

  test("thresholds compare against the float32-rounded feature", () => {
    const t = Math.fround(0.1); // 0.10000000149…, just above 0.1
    const stump: ShapTree = {
      feature: [0, -1, -1],
      threshold: [t, 0, 0],
      left: [1, -1, -1],
      right: [2, -1, -1],
      defaultLeft: [0, 0, 0],
      value: [0, 1, 2],
      cover: [2, 1, 1],
    };
    const explainer = new TreeExplainer([stump], 1);
    // 0.1 < t in float64, but fround(0.1) === t, so the row goes right.
    expect(0.1 < t).toBe(true);
    expect(explainer.margin([0.1])).toBe(2);
  });
});

describe("TreeExplainer rejects malformed trees at construction", () => {
  const good = (): Plain => ({
    feature: [0, 1, -1, -1, -1],
    threshold: [0, 0, 0, 0, 0],
    left: [1, 2, -1, -1, -1],
    right: [4, 3, -1, -1, -1],
    defaultLeft: [0, 0, 0, 0, 0],
    value: [0, 0, 1, 2, 3],
    cover: [6, 3, 1, 2, 3],
  });
  const withBad = (edit: (t: Plain) => void): ShapTree[] => {
    const bad = good();
    edit(bad);
    return [good(), bad];
  };

  test("the fixture itself is valid", () => {
    expect(
      () =>
        new TreeExplainer(
          withBad(() => {}),
          2,
        ),
    ).not.toThrow();
  });

  test("a child index out of range", () => {
    expect(
      () =>
        new TreeExplainer(
          withBad((t) => {
            t.right[1] = 9;
          }),
          2,
        ),
    ).toThrow(/tree 1 node 1: right child 9 is out of range/);
  });

  test("a zero cover", () => {
    expect(
      () =>
        new TreeExplainer(
          withBad((t) => {
            t.cover[3] = 0;
          }),
          2,
        ),
    ).toThrow(/tree 1 node 3: cover 0/);
  });

  test("a non-finite cover", () => {
    expect(
      () =>
        new TreeExplainer(
          withBad((t) => {
            t.cover[0] = Number.NaN;
          }),
          2,
        ),
    ).toThrow(/tree 1 node 0: cover NaN/);
  });

  test("a feature index out of range", () => {
    expect(
      () =>
        new TreeExplainer(
          withBad((t) => {
            t.feature[1] = 2;
          }),
          2,
        ),
    ).toThrow(/tree 1 node 1: feature 2 /);
  });

  test("a cycle and a node shared by two parents", () => {
    expect(
      () =>
        new TreeExplainer(
          withBad((t) => {
            t.left[1] = 0;
          }),
          2,
        ),
    ).toThrow(/tree 1 node 1: left child 0 is reached twice/);
    expect(
      () =>
        new TreeExplainer(
          withBad((t) => {
            t.right[0] = 2;
          }),
          2,
        ),
    ).toThrow(/tree 1 node \d: \w+ child 2 is reached twice/);
  });

  test("arrays of different lengths", () => {
    expect(
      () =>
        new TreeExplainer(
          withBad((t) => {
            t.cover.pop();
          }),
          2,
        ),
    ).toThrow(/tree 1: cover has 4 entries/);
  });

  test("wrong row or output lengths at explain time", () => {
    const explainer = new TreeExplainer([good()], 2);
    expect(() => explainer.shap([0], new Float64Array(2))).toThrow(/row has 1 values/);
    expect(() => explainer.shap([0, 0], new Float64Array(3))).toThrow(/out has length 3/);
  });
});
