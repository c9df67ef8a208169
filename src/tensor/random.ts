/**
 * Seeded random numbers. Every random draw in aelab (initialisers, dropout, shuffling, noise,
 * sampling) goes through a Generator, so the same seed gives the same run and a saved state
 * resumes bit for bit.
 *
 * xoshiro128** (Blackman & Vigna): four 32-bit words of state, period 2^128 − 1, good
 * statistical quality, and cheap in JavaScript's 32-bit integer arithmetic. Seeds are expanded
 * into the state with splitmix32 so that nearby seeds give unrelated streams.
 */

export interface GeneratorState {
  s: [number, number, number, number];
  /** The polar method produces normals in pairs; the unused one is kept here. */
  spare: number | null;
}

function splitmix32(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Generator {
  // The state words are kept as signed int32 values (`| 0`), never as unsigned ones (`>>> 0`):
  // V8 stores a field that once held a number ≥ 2³¹ as a boxed double, so every draw would
  // allocate. getState() reports them unsigned.
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  // The pending second normal of a pair: a number field and a flag, not `number | null` (a
  // field that can hold null keeps its doubles boxed, one allocation per normal).
  private spare = 0;
  private hasSpare = false;

  constructor(seed = 0) {
    this.seed(seed);
  }

  /** Re-seeds in place. Seeds are integers; fractional parts are dropped. */
  seed(seed: number): this {
    if (!Number.isFinite(seed)) throw new Error(`Generator.seed: seed must be a finite number, got ${seed}`);
    const hi = Math.floor(seed / 2 ** 32);
    const next = splitmix32((seed >>> 0) ^ Math.imul(hi | 0, 0x27d4eb2d));
    this.s0 = next() | 0;
    this.s1 = next() | 0;
    this.s2 = next() | 0;
    this.s3 = next() | 0;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
    this.hasSpare = false;
    return this;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 random bits. */
  random(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.random();
  }

  /**
   * Standard normal by Marsaglia's polar method: (u, v) uniform in the unit disc (rejecting the
   * rest, ~21% of pairs), s = u² + v², then u·√(−2 ln s / s) and v·√(−2 ln s / s) are two
   * independent normals; the second is kept as `spare`. It needs one log and no sin/cos (slow in
   * V8), unlike Box–Muller, which would give a different stream for the same seed.
   */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    const first = this.polar();
    this.hasSpare = true;
    return first;
  }

  /**
   * One pair of the polar method: returns the first normal and writes the second to `spare`
   * (without setting `hasSpare`: normal() keeps it, fillNormal uses it at once).
   */
  private polar(): number {
    let u: number, v: number, s: number;
    do {
      u = 2 * this.random() - 1;
      v = 2 * this.random() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * f;
    return u * f;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!(n > 0)) throw new Error(`Generator.int: n must be positive, got ${n}`);
    return Math.floor(this.random() * n);
  }

  /** A random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }

  fillUniform(out: Float32Array, lo = 0, hi = 1): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = lo + (hi - lo) * this.random();
    return out;
  }

  /** out[i] = mean + std·normal(), the same stream as calling normal() element by element. */
  fillNormal<T extends Float32Array | Float64Array>(out: T, mean = 0, std = 1): T {
    const n = out.length;
    let i = 0;
    if (n > 0 && this.hasSpare) out[i++] = mean + std * this.normal();
    // Whole pairs, the first normal then the second (left in `spare` by polar(), not flagged as
    // pending), as normal() hands them out.
    for (; i + 1 < n; i += 2) {
      out[i] = mean + std * this.polar();
      out[i + 1] = mean + std * this.spare;
    }
    if (i < n) out[i] = mean + std * this.normal();
    return out;
  }

  getState(): GeneratorState {
    return { s: [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0], spare: this.hasSpare ? this.spare : null };
  }

  setState(state: GeneratorState): this {
    if (!state || !Array.isArray(state.s) || state.s.length !== 4 || state.s.some((x) => !Number.isInteger(x))) {
      throw new Error('Generator.setState: expected { s: [4 unsigned 32-bit integers], spare: number | null }');
    }
    [this.s0, this.s1, this.s2, this.s3] = state.s.map((x) => x | 0) as [number, number, number, number];
    const spare = state.spare ?? null;
    this.hasSpare = spare !== null;
    this.spare = spare ?? 0;
    return this;
  }
}

/** 32-bit rotate left, as a signed int32 (see the state's note in Generator). */
function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** The process-wide default generator, used when no generator is passed. */
export const defaultGenerator = new Generator(0);

/** Seeds the default generator (like torch.manual_seed). */
export function manualSeed(seed: number): void {
  defaultGenerator.seed(seed);
}
