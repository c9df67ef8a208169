// Data movement with a kernel of its own: gatherRows8. (Slices and index select / add move rows
// with the bulk copy / add of common.ts, called from the JS side.)
//
// gatherRows8: rows of 8-bit pixels picked by index and scaled to [0, 1] (a training batch from
// a dataset's bytes): out[j·d + k] = src[idx[j]·d + k] / 255, the division in f32 (correctly
// rounded: the nearest float32 to k/255, as the datasets' tables hold). The rows come from all
// over a large array, so the time is memory latency: threads fetch different rows at once.
// Args: GatherRows8Args (src: bytes; idx: m i32 row indices, checked by the caller).
// Items: blocks of rows.

import { GatherRows8Args } from './abi.generated';
import { joinItems, beginItems, nextItem, endItems, rowsPerItem } from './common';

const F255 = f32x4.splat(255);

/** Four f32x4 of the 16 bytes at p, each divided by 255, stored at o. */
@inline function bytes16(p: usize, o: usize): void {
  const b = v128.load(p);
  const lo = i16x8.extend_low_i8x16_u(b), hi = i16x8.extend_high_i8x16_u(b);
  v128.store(o, f32x4.div(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(lo)), F255));
  v128.store(o, f32x4.div(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_u(lo)), F255), 16);
  v128.store(o, f32x4.div(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(hi)), F255), 32);
  v128.store(o, f32x4.div(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_u(hi)), F255), 48);
}

export function gatherRows8(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const a = changetype<GatherRows8Args>(args);
  const src = a.src, d = a.d, idx = a.idx, m = a.m, out = a.out;
  const per = rowsPerItem(m, d, nth);
  const total = (m + per - 1) / per;
  beginItems(total);
  for (let it = nextItem(); it >= 0; it = nextItem()) {
    const hi = min(m, (it + 1) * per);
    for (let j = it * per; j < hi; j++) {
      const s = src + <usize>load<i32>(idx + (<usize>j << 2)) * <usize>d;
      const o = out + ((<usize>j * <usize>d) << 2);
      let k = 0;
      for (; k + 16 <= d; k += 16) bytes16(s + <usize>k, o + (<usize>k << 2));
      for (; k < d; k++) store<f32>(o + (<usize>k << 2), <f32>load<u8>(s + <usize>k) / <f32>255);
    }
  }
  endItems();
  return total;
}
