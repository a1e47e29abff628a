/**
 * Exact path-dependent TreeSHAP (Lundberg, Erion & Lee 2018, Algorithm 2) for an additive ensemble
 * of binary trees: the attributions XGBoost returns for `pred_contribs`, in polynomial time
 * (O(leaves · depth²) per tree) instead of enumerating feature subsets.
 *
 * A feature outside the known set S makes the tree average its split's children by their training
 * covers. The recursion carries, along the root-to-node path, each distinct feature's share of rows
 * when unknown (`zero`) and whether x follows the path when known (`one`, 0 or 1), together with
 * the Shapley weights of every subset size (`weight`). A feature met a second time on a path is
 * first taken out of the path (unwound) and then added again with both fractions combined, so each
 * feature counts once.
 */

// A path entry's fields, laid out in one SLOT of the path buffer.
const FEATURE = 0;
const ZERO = 1;
const ONE = 2;
const WEIGHT = 3;
const SLOT = 4;

/** One tree as parallel arrays; node 0 is the root. */
export interface ShapTree {
  /** Feature index of a split; -1 on a leaf. */
  feature: ArrayLike<number>;
  /** A row goes left iff `Math.fround(x[feature]) < threshold`. */
  threshold: ArrayLike<number>;
  left: ArrayLike<number>;
  right: ArrayLike<number>;
  /** NaN goes left iff nonzero/true. */
  defaultLeft: ArrayLike<number | boolean>;
  /** What a leaf adds to the margin; ignored on splits. */
  value: ArrayLike<number>;
  /** Training weight (rows) reaching the node; > 0; a split's cover equals its children's sum. */
  cover: ArrayLike<number>;
}

/**
 * Builds what explaining needs once per model (flat typed arrays, scratch sized to the deepest
 * tree).
 */
export class TreeExplainer {
  readonly featureCount: number;
  /**
   * The margin's expected value over the training covers: sum over trees of the cover-weighted
   * mean leaf value.
   */
  readonly expectedValue: number;

  // All trees share these arrays; child indices are absolute, so the hot path never adds offsets.
  private readonly roots: Int32Array;
  private readonly feature: Int32Array;
  private readonly threshold: Float64Array;
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly defaultLeft: Uint8Array;
  private readonly value: Float64Array;
  /**
   * cover[node] / (cover[node] + cover[sibling]). Dividing by the children's sum rather than the
   * parent's cover keeps expectedValue + Σφ = margin exact even when stored covers (float32 in
   * model files) do not add up to the last bit; precomputed so the recursion does not divide.
   */
  private readonly share: Float64Array;

  /**
   * The path stack: one SLOT per path entry ([feature, zero, one, weight]), interleaved so that
   * building a child's path from its parent's is one sequential pass. Each recursion level writes
   * its path to the slots just past its parent's, so a node at depth d starts at most 1 + 2 + … + d slots in and a
   * tree of depth D needs (D + 1)(D + 2) / 2 slots.
   */
  private readonly path: Float64Array;
  /** 1 / k for k ≤ depth + 1: the leaf loop multiplies instead of dividing. */
  private readonly reciprocal: Float64Array;

  constructor(trees: readonly ShapTree[], featureCount: number) {
    if (!Number.isInteger(featureCount) || featureCount < 0) {
      throw new Error(
        `TreeExplainer: featureCount must be a non-negative integer, got ${featureCount}`,
      );
    }
    this.featureCount = featureCount;
    let total = 0;
    for (const t of trees) total += t.feature.length;
    this.roots = new Int32Array(trees.length);
    this.feature = new Int32Array(total);
    this.threshold = new Float64Array(total);
    this.left = new Int32Array(total);
    this.right = new Int32Array(total);
    this.defaultLeft = new Uint8Array(total);
    this.value = new Float64Array(total);
    this.share = new Float64Array(total);

    let base = 0;
    let maxDepth = 0;
    let expected = 0;
    for (let t = 0; t < trees.length; t++) {
      const tree = trees[t] as ShapTree;
      const { depth, mean } = this.load(tree, t, base);
      this.roots[t] = base;
      maxDepth = Math.max(maxDepth, depth);
      expected += mean;
      base += tree.feature.length;
    }
    this.expectedValue = expected;

    const slots = ((maxDepth + 1) * (maxDepth + 2)) / 2;
    this.path = new Float64Array(slots * SLOT);
    this.reciprocal = Float64Array.from({ length: maxDepth + 2 }, (_, k) => (k === 0 ? 0 : 1 / k));
  }

  /**
   * SHAP values of one row, in margin units: out[i] for feature i (length featureCount).
   * expectedValue + sum(out) equals the row's margin (sum of the leaves it reaches) up to float
   * rounding.
   * Allocation-free after construction (reuses scratch); `out` is overwritten.
   */
  shap(x: ArrayLike<number>, out: Float64Array): void {
    if (x.length < this.featureCount) {
      throw new Error(
        `TreeExplainer.shap: row has ${x.length} values, expected ${this.featureCount}`,
      );
    }
    if (out.length !== this.featureCount) {
      throw new Error(
        `TreeExplainer.shap: out has length ${out.length}, expected ${this.featureCount}`,
      );
    }
    out.fill(0);
    const roots = this.roots;
    for (let t = 0; t < roots.length; t++) {
      // The root's path entry is a placeholder (feature -1, both fractions 1) that later splits
      // extend; it never receives an attribution.
      this.walk(x, out, roots[t] as number, 0, 0, 1, 1, -1);
    }
  }

  /** The row's margin: sum of the leaf values it reaches (same routing). */
  margin(x: ArrayLike<number>): number {
    let sum = 0;
    const roots = this.roots;
    for (let t = 0; t < roots.length; t++) {
      let node = roots[t] as number;
      while ((this.feature[node] as number) >= 0) node = this.next(x, node);
      sum += this.value[node] as number;
    }
    return sum;
  }

  /** The child of split `node` that x follows. */
  private next(x: ArrayLike<number>, node: number): number {
    const v = x[this.feature[node] as number] as number;
    const goLeft = Number.isNaN(v)
      ? this.defaultLeft[node] === 1
      : Math.fround(v) < (this.threshold[node] as number);
    return goLeft ? (this.left[node] as number) : (this.right[node] as number);
  }

  /**
   * Visits `node` with its parent's path (`depth` slots) at element `parentAt` and extends it by
   * the edge into `node`: the parent's split feature with its fractions.
   */
  private walk(
    x: ArrayLike<number>,
    phi: Float64Array,
    node: number,
    parentAt: number,
    depth: number,
    zero: number,
    one: number,
    splitFeature: number,
  ): void {
    const p = this.path;
    // The child's path is built past the parent's, which stays intact for the other child.
    const at = parentAt + depth * SLOT;
    this.extend(parentAt, at, depth, zero, one, splitFeature);

    const f = this.feature[node] as number;
    if (f < 0) {
      this.credit(phi, at, depth, this.value[node] as number);
      return;
    }

    const hot = this.next(x, node);
    const cold =
      hot === this.left[node] ? (this.right[node] as number) : (this.left[node] as number);
    let incomingZero = 1;
    let incomingOne = 1;
    let d = depth;
    // Slot 0 is the placeholder (feature -1), so the search starts at 1.
    let k = 1;
    while (k <= d && p[at + k * SLOT + FEATURE] !== f) k++;
    if (k <= d) {
      incomingZero = p[at + k * SLOT + ZERO] as number;
      incomingOne = p[at + k * SLOT + ONE] as number;
      this.unwind(at, d, k);
      d--;
    }
    const hotZero = (this.share[hot] as number) * incomingZero;
    this.walk(x, phi, hot, at, d + 1, hotZero, incomingOne, f);
    this.walk(x, phi, cold, at, d + 1, (this.share[cold] as number) * incomingZero, 0, f);
  }

  /**
   * Writes at `at` the parent's path (`depth` slots at `parentAt`) plus one more player at slot
   * `depth`, with the subset-size weights updated for it: copy and update fused into one pass,
   * since each new weight depends only on two of the parent's.
   */
  private extend(
    parentAt: number,
    at: number,
    depth: number,
    zero: number,
    one: number,
    feature: number,
  ): void {
    const p = this.path;
    const e = at + depth * SLOT;
    p[e + FEATURE] = feature;
    p[e + ZERO] = zero;
    p[e + ONE] = one;
    if (depth === 0) {
      p[e + WEIGHT] = 1;
      return;
    }
    const scale = this.reciprocal[depth + 1] as number;
    // Subsets of size i now either leave the new player out (zero) or, from size i − 1, let it in
    // (one), with the Shapley weights' ratio for one more player.
    let below = 0;
    for (let i = 0; i < depth; i++) {
      const from = parentAt + i * SLOT;
      const to = at + i * SLOT;
      const weight = p[from + WEIGHT] as number;
      p[to + FEATURE] = p[from + FEATURE] as number;
      p[to + ZERO] = p[from + ZERO] as number;
      p[to + ONE] = p[from + ONE] as number;
      p[to + WEIGHT] = (zero * weight * (depth - i) + one * below * i) * scale;
      below = weight;
    }
    p[e + WEIGHT] = one * below * depth * scale;
  }

  /** Inverts `extend` for the feature at slot `index` and closes the gap it leaves. */
  private unwind(at: number, depth: number, index: number): void {
    const p = this.path;
    const one = p[at + index * SLOT + ONE] as number;
    const zero = p[at + index * SLOT + ZERO] as number;
    const n = depth + 1;
    let nextOne = p[at + depth * SLOT + WEIGHT] as number;
    for (let i = depth - 1; i >= 0; i--) {
      const w = at + i * SLOT + WEIGHT;
      if (one !== 0) {
        const tmp = p[w] as number;
        const weight = (nextOne * n) / ((i + 1) * one);
        p[w] = weight;
        nextOne = tmp - (weight * zero * (depth - i)) / n;
      } else {
        p[w] = ((p[w] as number) * n) / (zero * (depth - i));
      }
    }
    // Weights belong to subset sizes, not to features, so only the other columns shift.
    for (let i = index; i < depth; i++) {
      const e = at + i * SLOT;
      p[e + FEATURE] = p[e + SLOT + FEATURE] as number;
      p[e + ZERO] = p[e + SLOT + ZERO] as number;
      p[e + ONE] = p[e + SLOT + ONE] as number;
    }
  }

  /**
   * Adds a leaf's value to each feature on its path, weighted by how much knowing that feature
   * changes the chance of reaching the leaf, summed over subset sizes: the path's weights with the
   * feature unwound (computed without touching the path, since the other features need it too).
   */
  private credit(phi: Float64Array, at: number, depth: number, leafValue: number): void {
    const p = this.path;
    const inv = this.reciprocal;
    const n = depth + 1;
    // For a feature x does not follow here (one = 0), the unwound sum is Σ w_i / (zero (depth − i))
    // and the factor (one − zero) = −zero cancels its 1 / zero: every such feature gets the same
    // amount, so it is computed once per leaf.
    let coldAmount = Number.NaN;
    for (let i = 1; i <= depth; i++) {
      const e = at + i * SLOT;
      let amount: number;
      if (p[e + ONE] === 0) {
        if (Number.isNaN(coldAmount)) {
          let total = 0;
          for (let j = depth - 1; j >= 0; j--) {
            total += (p[at + j * SLOT + WEIGHT] as number) * (inv[depth - j] as number);
          }
          coldAmount = -total * n * leafValue;
        }
        amount = coldAmount;
      } else {
        // one = 1: divide the extension by (zero + one·t) back out, highest subset size first.
        const zero = p[e + ZERO] as number;
        let nextOne = p[at + depth * SLOT + WEIGHT] as number;
        let total = 0;
        for (let j = depth - 1; j >= 0; j--) {
          const tmp = nextOne * (inv[j + 1] as number);
          total += tmp;
          nextOne = (p[at + j * SLOT + WEIGHT] as number) - tmp * zero * (depth - j);
        }
        amount = total * n * (1 - zero) * leafValue;
      }
      const k = p[e + FEATURE] as number;
      phi[k] = (phi[k] as number) + amount;
    }
  }

  /**
   * Validates tree `t` and copies it to the flat arrays at `base`. Walks only what the root
   * reaches (a model file may keep deleted nodes), each node once, so a cycle or a shared child
   * fails here rather than recursing forever at explain time. Returns the tree's depth and its
   * cover-weighted mean leaf value.
   */
  private load(tree: ShapTree, t: number, base: number): { depth: number; mean: number } {
    const n = tree.feature.length;
    const fail = (node: number, what: string): never => {
      throw new Error(`TreeExplainer: tree ${t} node ${node}: ${what}`);
    };
    if (n === 0) throw new Error(`TreeExplainer: tree ${t} has no nodes`);
    for (const key of ["threshold", "left", "right", "defaultLeft", "value", "cover"] as const) {
      if (tree[key].length !== n) {
        throw new Error(
          `TreeExplainer: tree ${t}: ${key} has ${tree[key].length} entries, feature has ${n}`,
        );
      }
    }

    const seen = new Uint8Array(n);
    const depthOf = new Int32Array(n);
    // Probability of reaching a node when no feature is known: the product of shares down to it.
    const reach = new Float64Array(n);
    const stack = [0];
    seen[0] = 1;
    reach[0] = 1;
    let maxDepth = 0;
    let mean = 0;
    while (stack.length > 0) {
      const node = stack.pop() as number;
      const at = base + node;
      const cover = tree.cover[node] as number;
      if (!(Number.isFinite(cover) && cover > 0)) {
        fail(node, `cover ${cover} is not finite and > 0`);
      }
      const f = tree.feature[node] as number;
      this.feature[at] = f;
      if (f === -1) {
        const v = tree.value[node] as number;
        if (!Number.isFinite(v)) fail(node, `leaf value ${v} is not finite`);
        this.value[at] = v;
        mean += (reach[node] as number) * v;
        maxDepth = Math.max(maxDepth, depthOf[node] as number);
        continue;
      }
      if (!Number.isInteger(f) || f < 0 || f >= this.featureCount) {
        fail(node, `feature ${f} is not -1 (leaf) or in [0, ${this.featureCount})`);
      }
      const threshold = tree.threshold[node] as number;
      if (Number.isNaN(threshold)) fail(node, "threshold is NaN");
      this.threshold[at] = threshold;
      this.defaultLeft[at] = tree.defaultLeft[node] ? 1 : 0;
      const l = tree.left[node] as number;
      const r = tree.right[node] as number;
      for (const [side, child] of [
        ["left", l],
        ["right", r],
      ] as const) {
        if (!Number.isInteger(child) || child < 0 || child >= n) {
          fail(node, `${side} child ${child} is out of range [0, ${n})`);
        }
        if (seen[child]) {
          fail(node, `${side} child ${child} is reached twice (cycle or shared node)`);
        }
        seen[child] = 1;
        depthOf[child] = (depthOf[node] as number) + 1;
        stack.push(child);
      }
      this.left[at] = base + l;
      this.right[at] = base + r;
      // Children are checked when popped; a bad cover there fails before it is ever used.
      const cl = tree.cover[l] as number;
      const cr = tree.cover[r] as number;
      const sum = cl + cr;
      this.share[base + l] = cl / sum;
      this.share[base + r] = cr / sum;
      reach[l] = (reach[node] as number) * (cl / sum);
      reach[r] = (reach[node] as number) * (cr / sum);
    }
    return { depth: maxDepth, mean };
  }
}
