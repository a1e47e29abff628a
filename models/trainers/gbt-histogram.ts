/**
 * Gradient histograms and the best split of a node, for the histogram GBT.
 *
 * A histogram holds, for every (feature, bin), the sums of gradient, hessian and row count of the
 * node's rows: three float64 slots per bin, features laid end to end (`BinLayout`). The best split
 * is then a scan over the bins instead of over the rows.
 */

/** Where each feature's bins start in a histogram, and how many there are (missing bin included). */
export interface BinLayout {
  /** First bin of feature c, in bins (multiply by 3 for the slot). */
  offset: Int32Array;
  /** Bins of feature c: 1 (missing) + value bins. */
  bins: Int32Array;
  /** Bins of all features. */
  total: number;
}

export function binLayout(edges: Float64Array[]): BinLayout {
  const offset = new Int32Array(edges.length);
  const bins = new Int32Array(edges.length);
  let total = 0;
  edges.forEach((e, c) => {
    offset[c] = total;
    bins[c] = e.length + 2;
    total += e.length + 2;
  });
  return { offset, bins, total };
}

/** Sums of gradient, hessian and count. */
export interface NodeTotals {
  g: number;
  h: number;
  n: number;
}

/** The rules a split must meet. */
export interface SplitRules {
  lambda: number;
  minChildWeight: number;
  minSamplesLeaf: number;
  minSplitGain: number;
}

/** The best split of a node: value bins 1..bin go left, missing rows go left iff defaultLeft. */
export interface Split {
  feature: number;
  bin: number;
  defaultLeft: boolean;
  gain: number;
  left: NodeTotals;
  right: NodeTotals;
}

/**
 * Adds the node's rows `index[start..end)` into `hist` for the given features (whose bins must
 * be zero). The node's gradients are gathered first into `orderedG`/`orderedH`, so the inner loop
 * per feature reads them sequentially.
 */
export function buildHistogram(
  hist: Float64Array,
  binned: Uint8Array,
  rows: number,
  layout: BinLayout,
  features: Int32Array,
  index: Uint32Array,
  start: number,
  end: number,
  grad: Float64Array,
  hess: Float64Array,
  orderedG: Float64Array,
  orderedH: Float64Array,
): void {
  const m = end - start;
  for (let k = 0; k < m; k++) {
    const r = index[start + k] as number;
    orderedG[k] = grad[r] as number;
    orderedH[k] = hess[r] as number;
  }
  for (let fi = 0; fi < features.length; fi++) {
    const c = features[fi] as number;
    const column = c * rows;
    const base = (layout.offset[c] as number) * 3;
    for (let k = 0; k < m; k++) {
      const p = base + 3 * (binned[column + (index[start + k] as number)] as number);
      hist[p] = (hist[p] as number) + (orderedG[k] as number);
      hist[p + 1] = (hist[p + 1] as number) + (orderedH[k] as number);
      hist[p + 2] = (hist[p + 2] as number) + 1;
    }
  }
}

/** `parent -= child` over the given features: the sibling's histogram without a pass over rows. */
export function subtractHistogram(
  parent: Float64Array,
  child: Float64Array,
  layout: BinLayout,
  features: Int32Array,
): void {
  for (let fi = 0; fi < features.length; fi++) {
    const c = features[fi] as number;
    const from = (layout.offset[c] as number) * 3;
    const to = from + (layout.bins[c] as number) * 3;
    for (let p = from; p < to; p++) parent[p] = (parent[p] as number) - (child[p] as number);
  }
}

/** Zeroes the given features' bins. */
export function clearHistogram(hist: Float64Array, layout: BinLayout, features: Int32Array): void {
  for (let fi = 0; fi < features.length; fi++) {
    const c = features[fi] as number;
    const from = (layout.offset[c] as number) * 3;
    hist.fill(0, from, from + (layout.bins[c] as number) * 3);
  }
}

function score(g: number, h: number, lambda: number): number {
  return (g * g) / (h + lambda);
}

/**
 * The split with the largest gain ½·(G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)) that meets the
 * rules, or null. Missing rows are tried on both sides; when the node has none, they default to
 * the side with the larger hessian (where most of the data went). Ties keep the first found
 * (feature order, then bin order), so the result is deterministic.
 */
export function bestSplit(
  hist: Float64Array,
  layout: BinLayout,
  features: Int32Array,
  totals: NodeTotals,
  rules: SplitRules,
): Split | null {
  const { lambda, minChildWeight, minSamplesLeaf } = rules;
  const parentScore = score(totals.g, totals.h, lambda);
  let best: Split | null = null;
  let bestGain = rules.minSplitGain;
  const consider = (
    c: number,
    bin: number,
    defaultLeft: boolean,
    gl: number,
    hl: number,
    nl: number,
  ): void => {
    const gr = totals.g - gl;
    const hr = totals.h - hl;
    const nr = totals.n - nl;
    if (nl < minSamplesLeaf || nr < minSamplesLeaf) return;
    if (hl < minChildWeight || hr < minChildWeight) return;
    const gain = 0.5 * (score(gl, hl, lambda) + score(gr, hr, lambda) - parentScore);
    if (gain > bestGain && gain > 0) {
      bestGain = gain;
      best = {
        feature: c,
        bin,
        defaultLeft,
        gain,
        left: { g: gl, h: hl, n: nl },
        right: { g: gr, h: hr, n: nr },
      };
    }
  };
  for (let fi = 0; fi < features.length; fi++) {
    const c = features[fi] as number;
    const base = (layout.offset[c] as number) * 3;
    const bins = layout.bins[c] as number;
    const gm = hist[base] as number;
    const hm = hist[base + 1] as number;
    const nm = hist[base + 2] as number;
    let gl = 0;
    let hl = 0;
    let nl = 0;
    // Threshold after value bin j: bins 1..j left. j = bins − 1 would send every value left.
    for (let j = 1; j < bins - 1; j++) {
      const p = base + 3 * j;
      gl += hist[p] as number;
      hl += hist[p + 1] as number;
      nl += hist[p + 2] as number;
      if (nm > 0) {
        consider(c, j, false, gl, hl, nl);
        consider(c, j, true, gl + gm, hl + hm, nl + nm);
      } else {
        consider(c, j, hl >= totals.h - hl, gl, hl, nl);
      }
    }
  }
  return best;
}
