/**
 * The seeded Generator: xoshiro128** against an independent BigInt implementation, determinism,
 * state save/restore bit for bit (including the polar method's spare normal), and rough distribution checks.
 */
import { describe, expect, it } from 'vitest';
import { defaultGenerator, Generator, manualSeed, randn } from '../../src/index.js';

/** xoshiro128** written from the paper with BigInt arithmetic, masked to 32 bits. */
function referenceXoshiro(state: [number, number, number, number], n: number): number[] {
  const M = 0xffffffffn;
  const s = state.map((v) => BigInt(v >>> 0));
  const rotl = (x: bigint, k: bigint) => ((x << k) | (x >> (32n - k))) & M;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const result = (rotl((s[1]! * 5n) & M, 7n) * 9n) & M;
    const t = (s[1]! << 9n) & M;
    s[2] = s[2]! ^ s[0]!;
    s[3] = s[3]! ^ s[1]!;
    s[1] = s[1]! ^ s[2]!;
    s[0] = s[0]! ^ s[3]!;
    s[2] = s[2]! ^ t;
    s[3] = rotl(s[3]!, 11n);
    out.push(Number(result));
  }
  return out;
}

describe('Generator', () => {
  it('implements xoshiro128** exactly', () => {
    for (const seed of [0, 1, 42, 2 ** 40 + 3]) {
      const g = new Generator(seed);
      const st = g.getState().s;
      const got = Array.from({ length: 1000 }, () => g.nextUint32());
      expect(got).toEqual(referenceXoshiro(st, 1000));
    }
  });

  it('getState reports the state as unsigned 32-bit words, and setState takes them back', () => {
    // The words are held as signed int32 internally (speed); saved states stay unsigned.
    const words: number[] = [];
    for (const seed of [0, 1, 42, 7777]) {
      const g = new Generator(seed);
      for (let i = 0; i < 37; i++) g.nextUint32();
      const st = g.getState().s;
      for (const w of st) expect(Number.isInteger(w) && w >= 0 && w < 2 ** 32, `word ${w}`).toBe(true);
      words.push(...st);
      const h = new Generator().setState({ s: st, spare: null });
      expect(h.getState().s).toEqual(st);
      expect(Array.from({ length: 50 }, () => h.nextUint32())).toEqual(Array.from({ length: 50 }, () => g.nextUint32()));
    }
    // the high half occurs (so the words above really went through the unsigned conversion)
    expect(words.some((w) => w >= 2 ** 31)).toBe(true);
  });

  it('the same seed gives the same stream; different seeds differ', () => {
    const a = new Generator(123);
    const b = new Generator(123);
    const c = new Generator(124);
    const sa = Array.from({ length: 50 }, () => a.random());
    expect(Array.from({ length: 50 }, () => b.random())).toEqual(sa);
    expect(Array.from({ length: 50 }, () => c.random())).not.toEqual(sa);
    expect(new Generator(0).getState().s).not.toEqual([0, 0, 0, 0]);
  });

  it('seed() re-seeds in place and clears the spare normal', () => {
    const g = new Generator(5);
    const first = [g.normal(), g.normal(), g.normal()];
    g.seed(5);
    expect([g.normal(), g.normal(), g.normal()]).toEqual(first);
  });

  it('getState/setState resume bit for bit, also with a pending spare normal (JSON round trip)', () => {
    const g = new Generator(9);
    g.random();
    g.normal(); // leaves a spare
    const saved = JSON.parse(JSON.stringify(g.getState())) as ReturnType<Generator['getState']>;
    expect(saved.spare).not.toBeNull();
    const draw = (x: Generator) => [x.normal(), x.random(), x.normal(), x.normal(), x.int(1000), x.uniform(-2, 3)];
    const expected = draw(g);
    const h = new Generator(0).setState(saved);
    expect(draw(h)).toEqual(expected);
    g.setState(saved);
    expect(draw(g)).toEqual(expected);
  });

  it('tensor draws resume bit for bit from a saved state', () => {
    const g = new Generator(77);
    randn([7], { generator: g }); // odd count: a spare is pending
    const st = g.getState();
    const a = randn([10], { generator: g }).toList();
    g.setState(st);
    expect(randn([10], { generator: g }).toList()).toEqual(a);
  });

  it('setState and seed reject bad input', () => {
    const g = new Generator();
    expect(() => g.setState({ s: [1, 2, 3], spare: null } as never)).toThrow(/Generator.setState: expected/);
    expect(() => g.setState({ s: [1, 2, 3, 0.5], spare: null } as never)).toThrow(/Generator.setState/);
    expect(() => g.seed(NaN)).toThrow(/seed must be a finite number/);
    expect(() => g.int(0)).toThrow(/Generator.int: n must be positive/);
  });

  it('normal(): mean ≈ 0 and std ≈ 1 over 200k draws; fillNormal honours mean and std', () => {
    const g = new Generator(2024);
    const n = 200_000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const v = g.normal();
      s += v;
      s2 += v * v;
    }
    const mean = s / n;
    const std = Math.sqrt(s2 / n - mean * mean);
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(std - 1)).toBeLessThan(0.01);
    const arr = g.fillNormal(new Float32Array(100_000), 3, 0.5);
    const m2 = arr.reduce((a, b) => a + b, 0) / arr.length;
    const sd2 = Math.sqrt(arr.reduce((a, b) => a + (b - m2) ** 2, 0) / arr.length);
    expect(Math.abs(m2 - 3)).toBeLessThan(0.01);
    expect(Math.abs(sd2 - 0.5)).toBeLessThan(0.01);
  });

  it('fillNormal gives the stream of normal() called element by element, whatever the spare and length', () => {
    for (const lengths of [[0], [1], [2], [5], [4, 3], [1, 1, 6], [7, 0, 2, 9]]) {
      const a = new Generator(77);
      const b = new Generator(77);
      a.normal(); // odd start: a spare is pending
      b.normal();
      for (const n of lengths) {
        const got = a.fillNormal(new Float32Array(n), 1.5, 0.25);
        const want = Float32Array.from({ length: n }, () => 1.5 + 0.25 * b.normal());
        expect(Array.from(got), `lengths ${lengths}`).toEqual(Array.from(want));
        expect(a.getState()).toEqual(b.getState());
      }
    }
  });

  it('random() in [0, 1) with mean ≈ ½; uniform(lo, hi) in range', () => {
    const g = new Generator(3);
    let s = 0;
    let lo = 1;
    let hi = 0;
    for (let i = 0; i < 100_000; i++) {
      const v = g.random();
      s += v;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    expect(Math.abs(s / 100_000 - 0.5)).toBeLessThan(0.005);
    for (let i = 0; i < 1000; i++) {
      const u = g.uniform(-3, -1);
      expect(u).toBeGreaterThanOrEqual(-3);
      expect(u).toBeLessThan(-1);
    }
  });

  it('int(n) is roughly uniform over [0, n)', () => {
    const g = new Generator(8);
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 50_000; i++) counts[g.int(10)]!++;
    for (const c of counts) expect(Math.abs(c - 5000)).toBeLessThan(300);
  });

  it('permutation is a permutation, deterministic per seed, and not the identity', () => {
    const p = new Generator(4).permutation(100);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect([...new Generator(4).permutation(100)]).toEqual([...p]);
    expect([...p]).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(new Generator(1).permutation(0).length).toBe(0);
  });

  it('manualSeed resets the default generator', () => {
    manualSeed(31);
    const a = [defaultGenerator.random(), defaultGenerator.normal()];
    manualSeed(31);
    expect([defaultGenerator.random(), defaultGenerator.normal()]).toEqual(a);
    manualSeed(0);
  });
});
