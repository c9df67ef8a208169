// The machine's WebAssembly SIMD arithmetic peak: 12 independent f32x4 multiply-add chains with
// no memory traffic, the most a 4-lane kernel can issue per cycle. bench/gemm.mjs compiles this
// with asc (baseline and relaxed-SIMD builds, like the kernels: RELAXED selects the fused
// multiply-add that gemm.ts's micro-kernel uses) and reports each GEMM as a share of it.
// 8 flops per lane-wide multiply-add, 12 per iteration: 96 flops per iteration.

@inline function madd(c: v128, a: v128, b: v128): v128 {
  // @ts-ignore: RELAXED is defined by the compiler flag, not declared
  if (RELAXED) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

export function peak(n: i32): f32 {
  let a0 = f32x4.splat(1.0), a1 = f32x4.splat(1.1), a2 = f32x4.splat(1.2), a3 = f32x4.splat(1.3);
  let a4 = f32x4.splat(1.4), a5 = f32x4.splat(1.5), a6 = f32x4.splat(1.6), a7 = f32x4.splat(1.7);
  let a8 = f32x4.splat(1.8), a9 = f32x4.splat(1.9), a10 = f32x4.splat(2.0), a11 = f32x4.splat(2.1);
  const b = f32x4.splat(0.9999), c = f32x4.splat(0.0001);
  for (let i = 0; i < n; i++) {
    a0 = madd(c, a0, b);
    a1 = madd(c, a1, b);
    a2 = madd(c, a2, b);
    a3 = madd(c, a3, b);
    a4 = madd(c, a4, b);
    a5 = madd(c, a5, b);
    a6 = madd(c, a6, b);
    a7 = madd(c, a7, b);
    a8 = madd(c, a8, b);
    a9 = madd(c, a9, b);
    a10 = madd(c, a10, b);
    a11 = madd(c, a11, b);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)));
  return f32x4.extract_lane(f32x4.add(s, f32x4.add(f32x4.add(a8, a9), f32x4.add(a10, a11))), 0);
}
