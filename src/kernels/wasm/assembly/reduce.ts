// Reductions (sum / max / min) over the canonical shapes the JS side reduces every call to
// (adjacent reduced or kept axes merged, size-1 axes dropped):
//   mode 0 [n]           everything → out[0]
//   mode 1 [O, R]        last axes:  out[o] = ⊕_r x[o, r]          (rows are contiguous)
//   mode 2 [R, I]        first axes: out[i] = ⊕_r x[r, i]          (vertical, f32x4 over i)
//   mode 3 [O, R, I]     middle:     out[o, i] = ⊕_r x[o, r, i]
//   mode 4 [R1, Q, R2]   outer+inner: out[q] = ⊕_{a, c} x[a, q, c] (bias gradient of NCHW)
// Sums accumulate in f32x4 over short blocks and then in f64, so long sums stay within a few
// ulp of the float64 reference.
//
// Args: ReduceArgs (op: ReduceOp).
// Items (when threaded): blocks of rows (mode 1), strips of STRIP columns (modes 2, 3), single
// outer rows (mode 3 with many), blocks of q (mode 4); mode 0 is a single item.

import { ReduceArgs, ReduceOp } from './abi.generated';
import { hsum64, hmax, hmin, joinItems, beginItems, nextItem, endItems, rowsPerItem, SUM_BLOCK as BLOCK } from './common';

/** Sum of n contiguous floats. */
function sumRun(p: usize, n: i32): f64 {
  let total: f64 = 0;
  let i = 0;
  while (i + 16 <= n) {
    const end = min(i + BLOCK, n);
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    for (; i + 16 <= end; i += 16) {
      const q = p + (<usize>i << 2);
      s0 = f32x4.add(s0, v128.load(q));
      s1 = f32x4.add(s1, v128.load(q, 16));
      s2 = f32x4.add(s2, v128.load(q, 32));
      s3 = f32x4.add(s3, v128.load(q, 48));
    }
    total += hsum64(s0) + hsum64(s1) + hsum64(s2) + hsum64(s3);
  }
  for (; i < n; i++) total += <f64>load<f32>(p + (<usize>i << 2));
  return total;
}

/** Max (op 1) or min (op 2) of n ≥ 1 contiguous floats (NaN-propagating like Math.max). */
function extRun(op: i32, p: usize, n: i32): f32 {
  let i = 0;
  let r: f32 = load<f32>(p);
  if (n >= 8) {
    let m0 = v128.load(p), m1 = v128.load(p, 16);
    i = 8;
    if (op == ReduceOp.max) {
      for (; i + 8 <= n; i += 8) {
        const q = p + (<usize>i << 2);
        m0 = f32x4.max(m0, v128.load(q));
        m1 = f32x4.max(m1, v128.load(q, 16));
      }
      r = hmax(f32x4.max(m0, m1));
    } else {
      for (; i + 8 <= n; i += 8) {
        const q = p + (<usize>i << 2);
        m0 = f32x4.min(m0, v128.load(q));
        m1 = f32x4.min(m1, v128.load(q, 16));
      }
      r = hmin(f32x4.min(m0, m1));
    }
  }
  for (; i < n; i++) {
    const v = load<f32>(p + (<usize>i << 2));
    r = op == ReduceOp.max ? max(r, v) : min(r, v);
  }
  return r;
}

/**
 * Vertical reduction of R rows (row stride `ld` floats) over columns [i0, i1) into out[i0..i1).
 * Columns in strips of 8: two f32x4 accumulators per strip, folded into f64 every BLOCK rows
 * for sums.
 */
function vertical(op: i32, x: usize, R: i32, ld: i32, i0: i32, i1: i32, out: usize): void {
  const ldb = <usize>ld << 2;
  let i = i0;
  for (; i + 8 <= i1; i += 8) {
    const col = x + (<usize>i << 2);
    if (op == ReduceOp.sum) {
      let t0 = f64x2.splat(0), t1 = f64x2.splat(0), t2 = f64x2.splat(0), t3 = f64x2.splat(0);
      let r = 0;
      while (r < R) {
        const end = min(r + BLOCK, R);
        let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
        for (; r < end; r++) {
          const q = col + <usize>r * ldb;
          s0 = f32x4.add(s0, v128.load(q));
          s1 = f32x4.add(s1, v128.load(q, 16));
        }
        t0 = f64x2.add(t0, f64x2.promote_low_f32x4(s0));
        t1 = f64x2.add(t1, f64x2.promote_low_f32x4(v128.shuffle<f32>(s0, s0, 2, 3, 2, 3)));
        t2 = f64x2.add(t2, f64x2.promote_low_f32x4(s1));
        t3 = f64x2.add(t3, f64x2.promote_low_f32x4(v128.shuffle<f32>(s1, s1, 2, 3, 2, 3)));
      }
      const o = out + (<usize>i << 2);
      v128.store(o, v128.shuffle<f32>(f32x4.demote_f64x2_zero(t0), f32x4.demote_f64x2_zero(t1), 0, 1, 4, 5));
      v128.store(o, v128.shuffle<f32>(f32x4.demote_f64x2_zero(t2), f32x4.demote_f64x2_zero(t3), 0, 1, 4, 5), 16);
    } else {
      let m0 = v128.load(col), m1 = v128.load(col, 16);
      for (let r = 1; r < R; r++) {
        const q = col + <usize>r * ldb;
        if (op == ReduceOp.max) {
          m0 = f32x4.max(m0, v128.load(q));
          m1 = f32x4.max(m1, v128.load(q, 16));
        } else {
          m0 = f32x4.min(m0, v128.load(q));
          m1 = f32x4.min(m1, v128.load(q, 16));
        }
      }
      const o = out + (<usize>i << 2);
      v128.store(o, m0);
      v128.store(o, m1, 16);
    }
  }
  for (; i < i1; i++) {
    const col = x + (<usize>i << 2);
    if (op == ReduceOp.sum) {
      let s: f64 = 0;
      for (let r = 0; r < R; r++) s += <f64>load<f32>(col + <usize>r * ldb);
      store<f32>(out + (<usize>i << 2), <f32>s);
    } else {
      let m = load<f32>(col);
      for (let r = 1; r < R; r++) {
        const v = load<f32>(col + <usize>r * ldb);
        m = op == ReduceOp.max ? max(m, v) : min(m, v);
      }
      store<f32>(out + (<usize>i << 2), m);
    }
  }
}

@inline function runValue(op: i32, p: usize, n: i32): f64 {
  return op == ReduceOp.sum ? sumRun(p, n) : <f64>extRun(op, p, n);
}

const STRIP: i32 = 64; // columns per item of the vertical reductions

export function reduce(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const a = changetype<ReduceArgs>(args);
  const op = a.op, mode = a.mode;
  const x = a.x, out = a.out;
  const d0 = a.d0, d1 = a.d1, d2 = a.d2;
  // Items and their meaning per mode.
  let total = 1;
  let per = 1; // mode 1 rows / mode 4 q's per item
  let strips = 1; // modes 2–3: column strips per (outer) row
  if (mode == 1) {
    per = rowsPerItem(d0, d1, nth);
    total = (d0 + per - 1) / per;
  } else if (mode == 2) {
    strips = nth == 1 ? 1 : (d1 + STRIP - 1) / STRIP;
    total = strips;
  } else if (mode == 3) {
    strips = nth == 1 || d0 >= 2 * nth ? 1 : (d2 + STRIP - 1) / STRIP;
    total = d0 * strips;
  } else if (mode == 4) {
    per = rowsPerItem(d1, d0 * d2, nth);
    total = (d1 + per - 1) / per;
  }
  beginItems(total);
  for (let it = nextItem(); it >= 0; it = nextItem()) {
    if (mode == 0) {
      store<f32>(out, <f32>runValue(op, x, d0));
    } else if (mode == 1) {
      const hi = min(d0, (it + 1) * per);
      for (let o = it * per; o < hi; o++) {
        store<f32>(out + (<usize>o << 2), <f32>runValue(op, x + ((<usize>o * <usize>d1) << 2), d1));
      }
    } else if (mode == 2) {
      const lo = strips == 1 ? 0 : it * STRIP, hi = strips == 1 ? d1 : min(d1, lo + STRIP);
      vertical(op, x, d0, d1, lo, hi, out);
    } else if (mode == 3) {
      const o = it / strips, st = it - o * strips;
      const lo = strips == 1 ? 0 : st * STRIP, hi = strips == 1 ? d2 : min(d2, lo + STRIP);
      const plane = (<usize>d1 * <usize>d2) << 2;
      vertical(op, x + <usize>o * plane, d1, d2, lo, hi, out + ((<usize>o * <usize>d2) << 2));
    } else {
      // [R1, Q, R2] → out[q]
      const rowB = <usize>d2 << 2;
      const hi = min(d1, (it + 1) * per);
      for (let q = it * per; q < hi; q++) {
        let acc: f64 = op == ReduceOp.sum ? 0 : <f64>load<f32>(x + <usize>q * rowB);
        for (let a = 0; a < d0; a++) {
          const v = runValue(op, x + (<usize>a * <usize>d1 + <usize>q) * rowB, d2);
          acc = op == ReduceOp.sum ? acc + v : op == ReduceOp.max ? max(acc, v) : min(acc, v);
        }
        store<f32>(out + (<usize>q << 2), <f32>acc);
      }
    }
  }
  endItems();
  return total;
}
