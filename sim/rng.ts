/**
 * The RNG tree. One root seed; every component draws from its own named child stream,
 * derived from its parent's path and its name only, so adding a stream never shifts the
 * draws of another (common random numbers across configurations).
 *
 * Child seeds are derived with seedrandom's default ARC4 generator (slow, only used once
 * per stream); draws come from xor4096 (about 4x faster, long period).
 */
import seedrandom from "seedrandom";
import { InputError, assert } from "./errors";

export type Seed = number | string;

export class Rng {
  /** Full path of this stream, e.g. "42/faults/host-3"; children extend it. */
  readonly path: string;
  private readonly next: () => number;

  private constructor(path: string) {
    this.path = path;
    // ARC4 turns the path into 128 bits of seed material for the fast generator.
    const derive = seedrandom(path);
    const material = [derive.int32(), derive.int32(), derive.int32(), derive.int32()]
      .map((x) => (x >>> 0).toString(16).padStart(8, "0"))
      .join("");
    this.next = seedrandom.xor4096(material);
  }

  static root(seed: Seed): Rng {
    if (typeof seed === "number" && !Number.isSafeInteger(seed)) {
      throw new InputError("seed", `must be an integer, got ${seed}`);
    }
    return new Rng(String(seed));
  }

  /** A named child stream; `name` may itself contain "/" (e.g. "faults/host-3"). */
  child(name: string): Rng {
    assert(name.length > 0, "rng child name must not be empty");
    return new Rng(`${this.path}/${name}`);
  }

  /** Uniform in [0, 1). */
  double(): number {
    return this.next();
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [lo, hiExclusive). */
  int(lo: number, hiExclusive: number): number {
    assert(hiExclusive > lo, `rng.int: empty range [${lo}, ${hiExclusive})`);
    return lo + Math.floor((hiExclusive - lo) * this.next());
  }

  /** Exponential with the given mean (inverse transform; 1 - u avoids log(0)). */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  /** Normal by Box–Muller; always two draws, no cached spare, so draw counts are simple. */
  normal(mean: number, stdDev: number): number {
    const u1 = 1 - this.next();
    const u2 = this.next();
    return mean + stdDev * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** Lognormal: exp(N(mu, sigma)). The median is exp(mu). */
  lognormal(mu: number, sigma: number): number {
    return Math.exp(this.normal(mu, sigma));
  }

  bernoulli(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    assert(items.length > 0, "rng.pick from an empty list");
    return items[Math.floor(items.length * this.next())]!;
  }

  /** A shuffled copy (Fisher–Yates); the input is left alone. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor((i + 1) * this.next());
      const tmp = out[i]!;
      out[i] = out[j]!;
      out[j] = tmp;
    }
    return out;
  }

  /** A zipf sampler over ranks 0..n-1 drawing from this stream. */
  zipf(n: number, exponent: number): Zipf {
    return new Zipf(this, n, exponent);
  }
}

/**
 * Zipf over ranks 0..n-1 with P(k) ∝ 1/(k+1)^s, by rejection-inversion (Hörmann and
 * Derflinger 1996): O(1) memory and expected O(1) draws, for any n and s > 0.
 */
export class Zipf {
  private readonly hIntegralX1: number;
  private readonly hIntegralN: number;
  private readonly threshold: number;

  constructor(
    private readonly rng: Rng,
    readonly n: number,
    readonly exponent: number,
  ) {
    if (!Number.isSafeInteger(n) || n < 1) throw new InputError("zipf.n", `must be a positive integer, got ${n}`);
    if (!(exponent > 0)) throw new InputError("zipf.exponent", `must be > 0, got ${exponent}`);
    this.hIntegralX1 = this.hIntegral(1.5) - 1;
    this.hIntegralN = this.hIntegral(n + 0.5);
    this.threshold = 2 - this.hIntegralInverse(this.hIntegral(2.5) - this.h(2));
  }

  /** A rank in [0, n). */
  sample(): number {
    for (let attempt = 0; attempt < 1_000_000; attempt++) {
      const u = this.hIntegralN + this.rng.double() * (this.hIntegralX1 - this.hIntegralN);
      const x = this.hIntegralInverse(u);
      let k = Math.floor(x + 0.5);
      if (k < 1) k = 1;
      else if (k > this.n) k = this.n;
      if (k - x <= this.threshold || u >= this.hIntegral(k + 0.5) - this.h(k)) return k - 1;
    }
    throw new InputError("zipf", "rejection sampling did not converge");
  }

  private h(x: number): number {
    return Math.exp(-this.exponent * Math.log(x));
  }

  private hIntegral(x: number): number {
    const logX = Math.log(x);
    return helper2((1 - this.exponent) * logX) * logX;
  }

  private hIntegralInverse(x: number): number {
    let t = x * (1 - this.exponent);
    if (t < -1) t = -1; // guards rounding at the edge of the domain
    return Math.exp(helper1(t) * x);
  }
}

/** log(1 + x) / x, accurate near 0. */
function helper1(x: number): number {
  return Math.abs(x) > 1e-8 ? Math.log1p(x) / x : 1 - x * (0.5 - x * (1 / 3 - 0.25 * x));
}

/** (exp(x) - 1) / x, accurate near 0. */
function helper2(x: number): number {
  return Math.abs(x) > 1e-8 ? Math.expm1(x) / x : 1 + x * 0.5 * (1 + x * (1 / 3) * (1 + 0.25 * x));
}
