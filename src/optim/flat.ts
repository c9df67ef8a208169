/**
 * Arithmetic over one parameter's flat buffers with the backend's primitive kernels: the
 * optimizers' update when the backend has no fused step for it (each optimizer's file writes its
 * update with these, next to the fused call). Every method writes `out`, which may be one of its
 * inputs (the unary and binary primitives run in place); `temp()` gives a scratch buffer of the
 * parameter's length, all released by `done()`.
 */
import type { Backend, F32 } from '../kernels/backend.js';

export class FlatOps {
  private readonly shape: readonly number[];
  private readonly temps: F32[] = [];

  constructor(
    private readonly backend: Backend,
    private readonly n: number,
  ) {
    this.shape = [n];
  }

  /** A scratch buffer of n floats (contents unspecified), released by done(). */
  temp(): F32 {
    const t = this.backend.alloc(this.n, false);
    this.temps.push(t);
    return t;
  }

  /** Releases every temp(). */
  done(): void {
    for (const t of this.temps) this.backend.free(t);
    this.temps.length = 0;
  }

  /** out = x·s */
  scale(x: F32, s: number, out: F32): void {
    this.backend.unary('mulScalar', x, out, s);
  }

  /** out = x + s */
  shift(x: F32, s: number, out: F32): void {
    this.backend.unary('addScalar', x, out, s);
  }

  /** out = x² */
  square(x: F32, out: F32): void {
    this.backend.unary('square', x, out, 0);
  }

  /** out = √x */
  sqrt(x: F32, out: F32): void {
    this.backend.unary('sqrt', x, out, 0);
  }

  add(a: F32, b: F32, out: F32): void {
    this.backend.binary('add', a, this.shape, b, this.shape, out, this.shape);
  }

  sub(a: F32, b: F32, out: F32): void {
    this.backend.binary('sub', a, this.shape, b, this.shape, out, this.shape);
  }

  mul(a: F32, b: F32, out: F32): void {
    this.backend.binary('mul', a, this.shape, b, this.shape, out, this.shape);
  }

  div(a: F32, b: F32, out: F32): void {
    this.backend.binary('div', a, this.shape, b, this.shape, out, this.shape);
  }

  max(a: F32, b: F32, out: F32): void {
    this.backend.binary('maximum', a, this.shape, b, this.shape, out, this.shape);
  }

  /** out = a + s·b */
  axpy(a: F32, s: number, b: F32, out: F32): void {
    const t = this.temp();
    this.scale(b, s, t);
    this.add(a, t, out);
  }

  /** g + wd·p (L2 weight decay in the gradient) in a temp, or g itself when wd is 0. */
  decayed(g: F32, p: F32, wd: number): F32 {
    if (wd === 0) return g;
    const d = this.temp();
    this.axpy(g, wd, p, d);
    return d;
  }

  /** avg = β·avg + (1 − β)·x, in place: an exponential moving average. */
  ema(avg: F32, beta: number, x: F32): void {
    this.scale(avg, beta, avg);
    this.axpy(avg, 1 - beta, x, avg);
  }

  /** avg = β·avg + (1 − β)·x², in place. */
  emaSquare(avg: F32, beta: number, x: F32): void {
    const t = this.temp();
    this.square(x, t);
    this.ema(avg, beta, t);
  }

  copy(src: F32, out: F32): void {
    this.backend.copy(src, out);
  }
}
