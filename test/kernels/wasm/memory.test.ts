/**
 * The wasm backend's memory: zero-filled and uninitialised allocations, reuse of freed blocks, the
 * live-byte count, and growth that keeps existing views valid.
 */
import { describe, expect, it } from 'vitest';

import { eachBuild, randArr, wb } from './helpers.js';

eachBuild('memory', () => {
  describe('memory', () => {
    it('alloc returns zero-filled views, reuses freed blocks zeroed, and counts live bytes', () => {
      const before = wb.allocatedBytes();
      const a = wb.alloc(1000);
      expect(a).toBeInstanceOf(Float32Array);
      expect(a.length).toBe(1000);
      expect(a.every((v) => v === 0)).toBe(true);
      expect(wb.allocatedBytes()).toBe(before + 4000);
      a.fill(7);
      const off = a.byteOffset;
      wb.free(a);
      expect(wb.allocatedBytes()).toBe(before);
      const b = wb.alloc(1000);
      expect(b.byteOffset).toBe(off); // same size class, recycled
      expect(b.every((v) => v === 0)).toBe(true);
      wb.free(b);
      wb.free(b); // double free is ignored
      wb.free(new Float32Array(3)); // foreign arrays are ignored
      expect(wb.allocatedBytes()).toBe(before);
      const z = wb.alloc(0);
      expect(z.length).toBe(0);
      wb.free(z);
      expect(wb.allocatedBytes()).toBe(before);
    });

    it('grows memory without invalidating existing views', () => {
      const small = wb.alloc(16);
      small.set(randArr(16));
      const keep = Float32Array.from(small);
      const big = wb.alloc(40 << 20); // 160 MB: forces growth
      big[big.length - 1] = 3;
      expect(big[big.length - 1]).toBe(3);
      expect(Array.from(small)).toEqual(Array.from(keep));
      // Views created before the growth still count as wasm memory (no copy): kernels see them.
      const out = wb.alloc(16);
      wb.unary('neg', small, out, 0);
      expect(Array.from(out)).toEqual(Array.from(keep).map((v) => -v));
      wb.free(big);
      wb.free(small);
      wb.free(out);
    });
  });
});
