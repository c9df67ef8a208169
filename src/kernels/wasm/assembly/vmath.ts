// Vectorised transcendental functions on f32x4 (Cephes single-precision polynomials).
// Accuracy: ~1–2 ulp over the normal range, which keeps every kernel within 1e-6 relative of
// the float64 reference (Math.exp etc. rounded to f32).
//
// Codegen notes (V8, x64): V8 re-materialises every v128 constant inside the loop
// (3 instructions per splat), so the polynomial coefficients live in a static table and are
// read with v128.load32_splat (one vbroadcastss each); f32x4.min/max with wasm's NaN rules
// expand to ~7 instructions, f32x4.pmin/pmax to one (and still propagate a NaN in the first
// argument); rounding uses the 1.5·2²³ "magic number" trick instead of nearest + trunc_sat.
// Every function is @inline: in the full module Binaryen otherwise keeps them as calls (one
// call per 4 elements, constants reloaded after each).

const LOG2E: f32 = 1.44269504088896341;
const LN2_HI: f32 = 0.693359375; // ln2 split in two so n·ln2 is exact in the range reduction
const LN2_LO: f32 = -2.12194440e-4;
const MAGIC: f32 = 12582912.0; // 1.5·2²³: adding it rounds |v| < 2²² to an integer in the low mantissa bits

// Constant table, indices below.
const K: usize = memory.data<f32>([
  -104.0, 89.0, LOG2E, LN2_HI, LN2_LO, MAGIC, // 0–5 exp range and reduction
  1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1, // 6–11 exp poly
  1.0, 0.5, 2.0, 20.0, 0.625, 8388608.0, 1.17549435e-38, 0.707106781186547524, // 12–19
  7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1, // 20–24 log poly
  -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1, // 25–28
  -5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1, // 29–33 tanh poly
  1.0 / 40320.0, 1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, // 34–39 expm1 Taylor
  0.41421356237309505, // 40 √2 − 1
]);
@inline function k(i: i32): v128 {
  return v128.load32_splat(K + (<usize>i << 2));
}
// Integer and special-value constants (bit patterns), read the same way.
const KI: usize = memory.data<i32>([
  127, 126, 23, 0x807fffff, 0x3f000000, 0x7f800000, 0xff800000, 0x7fc00000, 0, 0x80000000,
]);
@inline function ki(i: i32): v128 {
  return v128.load32_splat(KI + (<usize>i << 2));
}
const I127 = 0, I126 = 1, I23 = 2, MANT = 3, HALF_EXP = 4, PINF = 5, NINF = 6, QNAN = 7, ZEROV = 8, SIGN = 9;
const ONE = 12, HALF = 13, TWO = 14, SQRT2M1 = 40;

/** a·b + c: fused where the relaxed-SIMD build runs on a CPU with FMA (see gemm.ts). */
@inline function fma(a: v128, b: v128, c: v128): v128 {
  // @ts-ignore: RELAXED is defined by the compiler flag, not declared
  if (RELAXED) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** e^x. Range reduction x = n·ln2 + r, |r| ≤ ln2/2; e^r by a degree-6 polynomial; 2^n built in
 *  two halves so results down to the subnormal range (x ≥ -104) are representable. */
@inline export function expV(x0: v128): v128 {
  const x = f32x4.pmin(f32x4.pmax(x0, k(0)), k(1)); // NaN stays NaN (first argument)
  const t = f32x4.add(f32x4.mul(x, k(2)), k(5)); // round(x·log2e) in the low mantissa bits
  const fx = f32x4.sub(t, k(5));
  let r = f32x4.sub(x, f32x4.mul(fx, k(3)));
  r = f32x4.sub(r, f32x4.mul(fx, k(4)));
  let y = k(6);
  y = fma(y, r, k(7));
  y = fma(y, r, k(8));
  y = fma(y, r, k(9));
  y = fma(y, r, k(10));
  y = fma(y, r, k(11));
  y = f32x4.add(f32x4.mul(f32x4.mul(y, r), r), f32x4.add(r, k(ONE)));
  const n = i32x4.sub(t, k(5)); // the integer n, from the bit patterns
  const n1 = i32x4.shr_s(n, 1);
  const n2 = i32x4.sub(n, n1);
  const bias = ki(I127);
  const s1 = i32x4.shl(i32x4.add(n1, bias), 23);
  const s2 = i32x4.shl(i32x4.add(n2, bias), 23);
  return f32x4.mul(f32x4.mul(y, s1), s2);
}

/** e^x − 1 without cancellation near 0: Taylor series to x^8 for |x| < 0.5, e^x − 1 beyond. */
@inline export function expm1V(x: v128): v128 {
  let p = k(34);
  p = fma(p, x, k(35));
  p = fma(p, x, k(36));
  p = fma(p, x, k(37));
  p = fma(p, x, k(38));
  p = fma(p, x, k(39));
  p = fma(p, x, k(HALF));
  p = fma(p, x, k(ONE));
  p = f32x4.mul(p, x);
  const big = f32x4.sub(expV(x), k(ONE));
  return v128.bitselect(p, big, f32x4.lt(f32x4.abs(x), k(HALF)));
}

/** ln(1 + f) + e·ln 2 for f in [√½ − 1, √2 − 1] (Cephes' degree-9 polynomial), e as a float. */
@inline function lnScaled(f: v128, fe: v128): v128 {
  const z = f32x4.mul(f, f);
  let y = k(20);
  y = fma(y, f, k(21));
  y = fma(y, f, k(22));
  y = fma(y, f, k(23));
  y = fma(y, f, k(24));
  y = fma(y, f, k(25));
  y = fma(y, f, k(26));
  y = fma(y, f, k(27));
  y = fma(y, f, k(28));
  y = f32x4.mul(f32x4.mul(y, f), z);
  y = fma(fe, k(4), y);
  y = f32x4.sub(y, f32x4.mul(z, k(HALF)));
  return fma(fe, k(3), f32x4.add(f, y));
}

/** ln x for x > 0 (subnormals included), +∞ (→ ∞) or NaN (stays NaN): logV without its checks
 *  for 0 and x < 0, for callers whose x cannot be either (bce's max(x, 2^−149)). */
@inline export function logPosV(x0: v128): v128 {
  // Subnormal inputs: scale by 2^23 and subtract 23 from the exponent afterwards.
  const sub = f32x4.lt(x0, k(18));
  const x = v128.bitselect(f32x4.mul(x0, k(17)), x0, sub);
  let e = i32x4.sub(i32x4.shr_u(x, 23), ki(I126));
  e = i32x4.sub(e, v128.and(sub, ki(I23)));
  let m = v128.or(v128.and(x, ki(MANT)), ki(HALF_EXP)); // [0.5, 1)
  const lt = f32x4.lt(m, k(19));
  e = i32x4.add(e, lt); // lt lanes are −1
  m = f32x4.sub(f32x4.add(m, v128.and(m, lt)), k(ONE));
  let r = lnScaled(m, f32x4.convert_i32x4_s(e));
  r = v128.bitselect(ki(PINF), r, f32x4.eq(x0, ki(PINF)));
  return v128.bitselect(x0, r, f32x4.ne(x0, x0));
}

/** ln x. x = m·2^e with m in [√½, √2); ln(1+f) by a degree-9 polynomial. Specials as Math.log:
 *  ln 0 = −∞, ln(x<0) = NaN, ln ∞ = ∞, NaN stays NaN; subnormals are rescaled first. */
@inline export function logV(x0: v128): v128 {
  const r = v128.bitselect(ki(NINF), logPosV(x0), f32x4.eq(x0, ki(ZEROV)));
  return v128.bitselect(ki(QNAN), r, f32x4.lt(x0, ki(ZEROV)));
}

/** ln(1 + x) accurate for tiny x (Goldberg's trick: u = 1 + x; ln(u)·x/(u − 1)). x ≥ 0 here. */
@inline export function log1pV(x: v128): v128 {
  const u = f32x4.add(x, k(ONE));
  const d = f32x4.sub(u, k(ONE));
  const lu = logV(u);
  let r = f32x4.mul(lu, f32x4.div(x, d));
  r = v128.bitselect(lu, r, f32x4.eq(u, ki(PINF)));
  return v128.bitselect(x, r, f32x4.eq(d, ki(ZEROV)));
}

/**
 * ln(1 + t) for t in [0, 1] (a NaN stays NaN), without logV's special cases or log1pV's
 * division: 1 + t = 2^e·(1 + f) with e = 0, f = t when 1 + t < √2, else e = 1,
 * f = (t − 1)/2, both exact (no rounding of 1 + t), then logV's polynomial for ln(1 + f).
 */
@inline export function log1pUnitV(t: v128): v128 {
  const big = f32x4.gt(t, k(SQRT2M1)); // false for NaN
  const f = v128.bitselect(f32x4.mul(f32x4.sub(t, k(ONE)), k(HALF)), t, big);
  return lnScaled(f, v128.and(big, k(ONE))); // e as a float: 1 or 0
}

/** tanh: odd polynomial for |x| < 0.625, else 1 − 2/(e^{2|x|} + 1) with the sign of x. */
@inline export function tanhV(x: v128): v128 {
  const ax = f32x4.abs(x);
  const z = f32x4.mul(x, x);
  let p = k(29);
  p = fma(p, z, k(30));
  p = fma(p, z, k(31));
  p = fma(p, z, k(32));
  p = fma(p, z, k(33));
  const small = f32x4.add(f32x4.mul(f32x4.mul(p, z), x), x);
  const e = expV(f32x4.add(ax, ax));
  const big = f32x4.sub(k(ONE), f32x4.div(k(TWO), f32x4.add(e, k(ONE))));
  const signed = v128.or(big, v128.and(x, ki(SIGN)));
  return v128.bitselect(small, signed, f32x4.lt(ax, k(16)));
}

/** e^{−|x|}, the one exponential the logistic functions need (it never overflows). */
@inline export function expNegAbsV(x: v128): v128 {
  return expV(f32x4.neg(f32x4.abs(x)));
}

/** sigmoid(x) from e = e^{−|x|}: (x ≥ 0 ? 1 : e) / (1 + e), one division (NaN stays NaN). */
@inline export function sigmoidFromV(x: v128, e: v128): v128 {
  return f32x4.div(v128.bitselect(k(ONE), e, f32x4.ge(x, ki(ZEROV))), f32x4.add(k(ONE), e));
}

/** 1 / (1 + e^{−x}), as 1/(1 + e^{−x}) for x ≥ 0 and e^x/(1 + e^x) below (the reference's form). */
@inline export function sigmoidV(x: v128): v128 {
  return sigmoidFromV(x, expNegAbsV(x));
}

/** softplus as PyTorch (beta 1, threshold 20): x > 20 ? x : log1p(e^x). */
@inline export function softplusV(x: v128): v128 {
  const r = log1pV(expV(x));
  return v128.bitselect(x, r, f32x4.gt(x, k(15)));
}

/** Lane-wise Math.pow in float64 (exact semantics of the reference for every special case). */
@inline export function powV(a: v128, b: v128): v128 {
  let r = f32x4.splat(0);
  r = f32x4.replace_lane(r, 0, <f32>Math.pow(<f64>f32x4.extract_lane(a, 0), <f64>f32x4.extract_lane(b, 0)));
  r = f32x4.replace_lane(r, 1, <f32>Math.pow(<f64>f32x4.extract_lane(a, 1), <f64>f32x4.extract_lane(b, 1)));
  r = f32x4.replace_lane(r, 2, <f32>Math.pow(<f64>f32x4.extract_lane(a, 2), <f64>f32x4.extract_lane(b, 2)));
  r = f32x4.replace_lane(r, 3, <f32>Math.pow(<f64>f32x4.extract_lane(a, 3), <f64>f32x4.extract_lane(b, 3)));
  return r;
}
