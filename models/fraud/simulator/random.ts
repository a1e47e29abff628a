/**
 * Seeded randomness for the fraud world: one stream, drawn in a fixed order, so a seed gives the
 * same events byte for byte.
 */
import { seededRandom } from "../../trainers/rng.ts";

const TWO_POW_32 = 4294967296;

/** A seeded generator with the distributions the simulator needs. */
export class Rng {
  private readonly next: () => number;
  private spareNormal = Number.NaN;

  constructor(seed: number) {
    this.next = seededRandom(seed);
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.next();
  }

  uniform(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** Integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor((max - min + 1) * this.next());
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(items.length * this.next())];
    if (item === undefined) throw new RangeError("pick: empty list");
    return item;
  }

  /** Index drawn with probability proportional to `weights[i]`. */
  weighted(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) total += weights[i] ?? 0;
    let target = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      target -= weights[i] ?? 0;
      if (target < 0) return i;
    }
    return weights.length - 1;
  }

  /** Index drawn from cumulative weights (ascending, last = total), by binary search. */
  cumulative(cumulativeWeights: Float64Array): number {
    const target = this.next() * (cumulativeWeights[cumulativeWeights.length - 1] ?? 0);
    let low = 0;
    let high = cumulativeWeights.length - 1;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((cumulativeWeights[mid] ?? 0) > target) high = mid;
      else low = mid + 1;
    }
    return low;
  }

  /** Standard normal (Box-Muller, using both values of each pair). */
  normal(mean = 0, sd = 1): number {
    if (!Number.isNaN(this.spareNormal)) {
      const z = this.spareNormal;
      this.spareNormal = Number.NaN;
      return mean + sd * z;
    }
    const u = 1 - this.next(); // (0, 1]: log(0) would be -Infinity
    const v = this.next();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = radius * Math.sin(2 * Math.PI * v);
    return mean + sd * radius * Math.cos(2 * Math.PI * v);
  }

  /** Lognormal given its median and the standard deviation of its log. */
  lognormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  /** 32 random bits as an unsigned integer. */
  uint32(): number {
    return Math.floor(this.next() * TWO_POW_32) >>> 0;
  }

  /** A version-4 UUID string. */
  uuid(): string {
    const hex = (n: number) => n.toString(16).padStart(8, "0");
    const a = hex(this.uint32());
    const b = hex(((this.uint32() & 0xffff0fff) | 0x00004000) >>> 0);
    const c = hex(((this.uint32() & 0x3fffffff) | 0x80000000) >>> 0);
    const d = hex(this.uint32());
    return `${a}-${b.slice(0, 4)}-${b.slice(4)}-${c.slice(0, 4)}-${c.slice(4)}${d}`;
  }

  /** A public-looking IPv4 address (no private, loopback or multicast first octet). */
  ipv4(): string {
    let first = this.int(1, 223);
    while (first === 10 || first === 127 || first === 172 || first === 192 || first === 100) {
      first = this.int(1, 223);
    }
    return `${first}.${this.int(0, 255)}.${this.int(0, 255)}.${this.int(1, 254)}`;
  }
}
