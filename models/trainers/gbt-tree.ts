/**
 * Grows one regression tree on gradients and hessians, best-first: the leaf whose best split gains
 * most is split next, until the leaf bound, the depth bound or the rules stop it.
 *
 * Each node owns a contiguous range of a row-index array; a split partitions the range in place
 * (stably, so indices stay ascending and column reads stay mostly sequential). Only the smaller
 * child's histogram is built from rows; the larger one's is the parent's minus it.
 */
import {
  type BinLayout,
  bestSplit,
  buildHistogram,
  clearHistogram,
  type NodeTotals,
  type Split,
  type SplitRules,
  subtractHistogram,
} from "./gbt-histogram.ts";

/** A tree as parallel arrays; node 0 is the root, a leaf has feature −1. */
export interface GbtTree {
  feature: number[];
  /** Go left iff `fround(x[feature]) < threshold`; a real feature value (a bin edge). */
  threshold: number[];
  left: number[];
  right: number[];
  /** Missing (NaN) goes left iff true. */
  defaultLeft: boolean[];
  /** The margin added by a leaf (learning rate applied); 0 on internal nodes. */
  leafValue: number[];
  /** Split gain of an internal node (for feature importance); 0 on leaves. */
  gain: number[];
  /**
   * Rows of the tree's sample that reached the node. Exported with the model (ONNX
   * `nodes_hitrates`), so that an explanation can weigh the branches a feature it does not know
   * would have taken (TreeSHAP).
   */
  cover: number[];
}

/** What a tree needs from the trainer; buffers are reused across trees. */
export interface TreeContext {
  binned: Uint8Array;
  rows: number;
  layout: BinLayout;
  edges: Float64Array[];
  grad: Float64Array;
  hess: Float64Array;
  rules: SplitRules;
  maxDepth: number;
  maxLeaves: number;
  learningRate: number;
  /** Scratch: ordered gradients, ordered hessians, partition buffer (length ≥ rows each). */
  orderedG: Float64Array;
  orderedH: Float64Array;
  scratch: Uint32Array;
  /** Free histograms (length layout.total · 3), reused across nodes and trees. */
  pool: Float64Array[];
}

/** A leaf and the rows it holds: `index[start..end)`. */
export interface LeafRange {
  node: number;
  start: number;
  end: number;
}

interface Candidate {
  node: number;
  start: number;
  end: number;
  depth: number;
  hist: Float64Array;
  totals: NodeTotals;
  split: Split | null;
}

function takeHistogram(ctx: TreeContext, features: Int32Array): Float64Array {
  const h = ctx.pool.pop();
  if (h) {
    clearHistogram(h, ctx.layout, features);
    return h;
  }
  return new Float64Array(ctx.layout.total * 3);
}

function newNode(tree: GbtTree): number {
  tree.feature.push(-1);
  tree.threshold.push(0);
  tree.left.push(-1);
  tree.right.push(-1);
  tree.defaultLeft.push(false);
  tree.leafValue.push(0);
  tree.gain.push(0);
  tree.cover.push(0);
  return tree.feature.length - 1;
}

/**
 * Grows a tree over the rows `index[0..count)` (reordered in place) using only `features`.
 * Returns the tree and where each leaf's rows are, so the caller can update its predictions
 * without routing the rows again.
 */
export function growTree(
  ctx: TreeContext,
  index: Uint32Array,
  count: number,
  features: Int32Array,
): { tree: GbtTree; leaves: LeafRange[] } {
  const tree: GbtTree = {
    feature: [],
    threshold: [],
    left: [],
    right: [],
    defaultLeft: [],
    leafValue: [],
    gain: [],
    cover: [],
  };
  const leaves: LeafRange[] = [];
  const { rules, layout } = ctx;
  const finish = (c: Candidate): void => {
    tree.leafValue[c.node] = (-c.totals.g / (c.totals.h + rules.lambda)) * ctx.learningRate;
    leaves.push({ node: c.node, start: c.start, end: c.end });
    ctx.pool.push(c.hist);
  };
  const withSplit = (c: Omit<Candidate, "split">): Candidate => {
    tree.cover[c.node] = c.end - c.start;
    const splittable = c.depth < ctx.maxDepth && c.totals.n >= 2 * rules.minSamplesLeaf;
    return {
      ...c,
      split: splittable ? bestSplit(c.hist, layout, features, c.totals, rules) : null,
    };
  };

  const rootHist = takeHistogram(ctx, features);
  buildHistogram(
    rootHist,
    ctx.binned,
    ctx.rows,
    layout,
    features,
    index,
    0,
    count,
    ctx.grad,
    ctx.hess,
    ctx.orderedG,
    ctx.orderedH,
  );
  let g = 0;
  let h = 0;
  for (let k = 0; k < count; k++) {
    g += ctx.orderedG[k] as number;
    h += ctx.orderedH[k] as number;
  }
  const candidates: Candidate[] = [];
  const root = withSplit({
    node: newNode(tree),
    start: 0,
    end: count,
    depth: 0,
    hist: rootHist,
    totals: { g, h, n: count },
  });
  if (root.split) candidates.push(root);
  else finish(root);
  let leafCount = 1;
  while (leafCount < ctx.maxLeaves && candidates.length > 0) {
    // The candidate with the largest gain; the lowest node id wins a tie (deterministic).
    let pick = 0;
    for (let i = 1; i < candidates.length; i++) {
      const gi = ((candidates[i] as Candidate).split as Split).gain;
      if (gi > ((candidates[pick] as Candidate).split as Split).gain) pick = i;
    }
    const parent = candidates.splice(pick, 1)[0] as Candidate;
    const split = parent.split as Split;
    const edges = ctx.edges[split.feature] as Float64Array;
    tree.feature[parent.node] = split.feature;
    tree.threshold[parent.node] = edges[split.bin - 1] as number;
    tree.defaultLeft[parent.node] = split.defaultLeft;
    tree.gain[parent.node] = split.gain;
    // Stable partition: left rows compact at the front, right rows via the scratch buffer.
    const column = split.feature * ctx.rows;
    let l = parent.start;
    let rCount = 0;
    for (let k = parent.start; k < parent.end; k++) {
      const r = index[k] as number;
      const b = ctx.binned[column + r] as number;
      if (b === 0 ? split.defaultLeft : b <= split.bin) index[l++] = r;
      else ctx.scratch[rCount++] = r;
    }
    index.set(ctx.scratch.subarray(0, rCount), l);
    const leftNode = newNode(tree);
    const rightNode = newNode(tree);
    tree.left[parent.node] = leftNode;
    tree.right[parent.node] = rightNode;
    leafCount++;
    const leftSmaller = split.left.n <= split.right.n;
    const small = takeHistogram(ctx, features);
    const [sStart, sEnd] = leftSmaller ? [parent.start, l] : [l, parent.end];
    buildHistogram(
      small,
      ctx.binned,
      ctx.rows,
      layout,
      features,
      index,
      sStart,
      sEnd,
      ctx.grad,
      ctx.hess,
      ctx.orderedG,
      ctx.orderedH,
    );
    subtractHistogram(parent.hist, small, layout, features);
    const depth = parent.depth + 1;
    const children = [
      withSplit({
        node: leftNode,
        start: parent.start,
        end: l,
        depth,
        hist: leftSmaller ? small : parent.hist,
        totals: split.left,
      }),
      withSplit({
        node: rightNode,
        start: l,
        end: parent.end,
        depth,
        hist: leftSmaller ? parent.hist : small,
        totals: split.right,
      }),
    ];
    for (const child of children) {
      if (child.split) candidates.push(child);
      else finish(child);
    }
  }
  for (const c of candidates) finish(c);
  return { tree, leaves };
}
