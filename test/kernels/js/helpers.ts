/**
 * Shared by the js kernel tests: a seeded normal stream and index arithmetic for the naive loops
 * the reference kernels are checked against.
 */
import { Generator } from '../../../src/tensor/random.js';

const gen = new Generator(12345);
export const rnd = (n: number): Float32Array => gen.fillNormal(new Float32Array(n));
export const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return idx;
}

export const ravel = (idx: readonly number[], shape: readonly number[]): number => idx.reduce((o, v, d) => o * shape[d]! + v, 0);
