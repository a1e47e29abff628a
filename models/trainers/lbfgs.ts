/**
 * L-BFGS: minimises a smooth function from its value and gradient, keeping the last `memory`
 * curvature pairs instead of a Hessian. No randomness, so a run is reproducible exactly.
 */

/** Writes the gradient at `x` into `grad` and returns the value at `x`. */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

export interface LbfgsOptions {
  /** Iteration bound. */
  iterationsMax: number;
  /** Stop when the largest gradient component is at most this. */
  gradientTolerance: number;
  /** Curvature pairs kept. */
  memory: number;
}

export interface LbfgsResult {
  x: Float64Array;
  value: number;
  iterations: number;
  /** True when the gradient tolerance was met (not just the iteration bound). */
  converged: boolean;
}

const ARMIJO = 1e-4;
const BACKTRACKS_MAX = 40;

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] as number));
  return m;
}

/**
 * Minimises `objective` from `start` (not modified).
 *
 * @example
 * const r = lbfgs((x, g) => { g[0] = 2 * (x[0] - 3); return (x[0] - 3) ** 2; },
 *   new Float64Array(1), { iterationsMax: 50, gradientTolerance: 1e-9, memory: 5 });
 * // r.x[0] ≈ 3
 */
export function lbfgs(
  objective: Objective,
  start: Float64Array,
  options: LbfgsOptions,
): LbfgsResult {
  const n = start.length;
  const x = Float64Array.from(start);
  const g = new Float64Array(n);
  let value = objective(x, g);
  const s: Float64Array[] = [];
  const y: Float64Array[] = [];
  const rho: number[] = [];
  const alpha = new Float64Array(options.memory);
  const direction = new Float64Array(n);
  const xNext = new Float64Array(n);
  const gNext = new Float64Array(n);
  let iterations = 0;
  while (iterations < options.iterationsMax) {
    if (maxAbs(g) <= options.gradientTolerance) {
      return { x, value, iterations, converged: true };
    }
    // Two-loop recursion: direction = −H·g with H the implicit inverse-Hessian estimate.
    direction.set(g);
    for (let k = s.length - 1; k >= 0; k--) {
      const a = (rho[k] as number) * dot(s[k] as Float64Array, direction);
      alpha[k] = a;
      const yk = y[k] as Float64Array;
      for (let i = 0; i < n; i++) direction[i] = (direction[i] as number) - a * (yk[i] as number);
    }
    const last = s.length - 1;
    // The first step has no curvature yet: scale it so its length is 1.
    const gamma =
      last >= 0
        ? dot(s[last] as Float64Array, y[last] as Float64Array) /
          dot(y[last] as Float64Array, y[last] as Float64Array)
        : 1 / Math.max(1e-12, Math.sqrt(dot(g, g)));
    for (let i = 0; i < n; i++) direction[i] = (direction[i] as number) * gamma;
    for (let k = 0; k < s.length; k++) {
      const b = (rho[k] as number) * dot(y[k] as Float64Array, direction);
      const sk = s[k] as Float64Array;
      const a = alpha[k] as number;
      for (let i = 0; i < n; i++)
        direction[i] = (direction[i] as number) + (a - b) * (sk[i] as number);
    }
    for (let i = 0; i < n; i++) direction[i] = -(direction[i] as number);
    let slope = dot(g, direction);
    if (!(slope < 0)) {
      // Not a descent direction (lost curvature): restart from steepest descent.
      s.length = 0;
      y.length = 0;
      rho.length = 0;
      for (let i = 0; i < n; i++) direction[i] = -(g[i] as number);
      slope = dot(g, direction);
    }
    // Backtracking line search with the Armijo sufficient-decrease condition.
    let step = 1;
    let valueNext = Number.POSITIVE_INFINITY;
    let accepted = false;
    for (let b = 0; b < BACKTRACKS_MAX; b++) {
      for (let i = 0; i < n; i++) xNext[i] = (x[i] as number) + step * (direction[i] as number);
      valueNext = objective(xNext, gNext);
      if (valueNext <= value + ARMIJO * step * slope) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    iterations++;
    if (!accepted) break;
    const sNew = new Float64Array(n);
    const yNew = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      sNew[i] = (xNext[i] as number) - (x[i] as number);
      yNew[i] = (gNext[i] as number) - (g[i] as number);
    }
    const sy = dot(sNew, yNew);
    // Keep only pairs with positive curvature; others would break the inverse-Hessian estimate.
    if (sy > 1e-12) {
      if (s.length === options.memory) {
        s.shift();
        y.shift();
        rho.shift();
      }
      s.push(sNew);
      y.push(yNew);
      rho.push(1 / sy);
    }
    x.set(xNext);
    g.set(gNext);
    const improvement = value - valueNext;
    value = valueNext;
    if (improvement <= 1e-15 * Math.max(1, Math.abs(value))) break;
  }
  return { x, value, iterations, converged: maxAbs(g) <= options.gradientTolerance };
}
