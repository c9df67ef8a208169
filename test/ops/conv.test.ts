/**
 * Convolutions, pooling and upsampling: forward values against naive loops for many
 * stride/padding/dilation/groups combinations, gradients by finite differences (pooling inputs
 * without ties), and errors that name the op and the channel counts.
 */
import { describe, expect, it } from 'vitest';
import { avgPool2d, conv2d, convTranspose2d, maxPool2d, tensor, upsampleNearest, type Tensor } from '../../src/index.js';
import { distinct, expectClose, expectGrad, normal } from '../helpers/engine.js';
import { expectFusedMatchesComposite } from '../helpers/fused.js';

const CONV_TOL = { eps: 1e-2, atol: 2e-4, rtol: 1e-3 };
type P2 = [number, number];

interface ConvCase {
  name: string;
  x: number[];
  w: number[];
  stride?: P2;
  padding?: P2;
  dilation?: P2;
  groups?: number;
  bias?: boolean;
}

/** The 7-loop definition: y[b,o,i,j] = bias[o] + Σ_c,kh,kw x[b, g·Cg + c, i·s − p + kh·d, …]·w[o,c,kh,kw]. */
function naiveConv(x: Tensor, w: Tensor, b: Tensor | null, s: P2, p: P2, d: P2, groups: number): { data: number[]; shape: number[] } {
  const [B, C, H, W] = x.shape as [number, number, number, number];
  const [O, Cg, kH, kW] = w.shape as [number, number, number, number];
  const oH = Math.floor((H + 2 * p[0] - d[0] * (kH - 1) - 1) / s[0]) + 1;
  const oW = Math.floor((W + 2 * p[1] - d[1] * (kW - 1) - 1) / s[1]) + 1;
  const Og = O / groups;
  const out: number[] = [];
  for (let n = 0; n < B; n++)
    for (let o = 0; o < O; o++) {
      const g = Math.floor(o / Og);
      for (let i = 0; i < oH; i++)
        for (let j = 0; j < oW; j++) {
          let acc = b ? b.data[o]! : 0;
          for (let c = 0; c < Cg; c++)
            for (let kh = 0; kh < kH; kh++)
              for (let kw = 0; kw < kW; kw++) {
                const ih = i * s[0] - p[0] + kh * d[0];
                const iw = j * s[1] - p[1] + kw * d[1];
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                acc += x.data[((n * C + g * Cg + c) * H + ih) * W + iw]! * w.data[((o * Cg + c) * kH + kh) * kW + kw]!;
              }
          out.push(acc);
        }
    }
  return { data: out, shape: [B, O, oH, oW] };
}

/** Transposed convolution by scattering each input pixel through the kernel. */
function naiveConvT(
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  s: P2,
  p: P2,
  d: P2,
  op: P2,
  groups: number,
): { data: number[]; shape: number[] } {
  const [B, Cin, H, W] = x.shape as [number, number, number, number];
  const [, Cog, kH, kW] = w.shape as [number, number, number, number];
  const Cout = Cog * groups;
  const Cig = Cin / groups;
  const oH = (H - 1) * s[0] - 2 * p[0] + d[0] * (kH - 1) + op[0] + 1;
  const oW = (W - 1) * s[1] - 2 * p[1] + d[1] * (kW - 1) + op[1] + 1;
  const out = new Array<number>(B * Cout * oH * oW).fill(0);
  for (let n = 0; n < B; n++)
    for (let c = 0; c < Cout; c++) for (let k = 0; k < oH * oW; k++) out[(n * Cout + c) * oH * oW + k] = b ? b.data[c]! : 0;
  for (let n = 0; n < B; n++)
    for (let ci = 0; ci < Cin; ci++) {
      const g = Math.floor(ci / Cig);
      for (let i = 0; i < H; i++)
        for (let j = 0; j < W; j++) {
          const v = x.data[((n * Cin + ci) * H + i) * W + j]!;
          for (let co = 0; co < Cog; co++)
            for (let kh = 0; kh < kH; kh++)
              for (let kw = 0; kw < kW; kw++) {
                const oh = i * s[0] - p[0] + kh * d[0];
                const ow = j * s[1] - p[1] + kw * d[1];
                if (oh < 0 || oh >= oH || ow < 0 || ow >= oW) continue;
                const oc = g * Cog + co;
                out[((n * Cout + oc) * oH + oh) * oW + ow]! += v * w.data[((ci * Cog + co) * kH + kh) * kW + kw]!;
              }
        }
    }
  return { data: out, shape: [B, Cout, oH, oW] };
}

const convCases: ConvCase[] = [
  { name: '3×3, defaults', x: [2, 3, 6, 5], w: [4, 3, 3, 3] },
  { name: '3×3 stride 2 padding 1 + bias', x: [2, 2, 7, 6], w: [3, 2, 3, 3], stride: [2, 2], padding: [1, 1], bias: true },
  {
    name: 'non-square 2×3 kernel, stride (1,2), padding (1,0)',
    x: [1, 2, 5, 7],
    w: [3, 2, 2, 3],
    stride: [1, 2],
    padding: [1, 0],
    bias: true,
  },
  { name: 'dilation 2', x: [1, 2, 7, 7], w: [2, 2, 3, 3], dilation: [2, 2], bias: true },
  { name: 'dilation (2,1), stride 2, padding 2', x: [2, 2, 8, 6], w: [2, 2, 3, 2], stride: [2, 2], padding: [2, 2], dilation: [2, 1] },
  { name: 'groups 2', x: [2, 4, 5, 5], w: [6, 2, 3, 3], padding: [1, 1], groups: 2, bias: true },
  { name: 'depthwise (groups = channels)', x: [1, 3, 5, 4], w: [3, 1, 3, 3], padding: [1, 1], groups: 3 },
  { name: '1×1 conv', x: [2, 4, 3, 3], w: [5, 4, 1, 1], bias: true },
  { name: 'stride 3 leaves input rows unused', x: [1, 2, 8, 8], w: [2, 2, 2, 2], stride: [3, 3] },
  { name: 'kernel = input (fully connected)', x: [2, 2, 3, 3], w: [3, 2, 3, 3], bias: true },
];

describe('conv2d', () => {
  for (const c of convCases) {
    const opts = {
      stride: c.stride ?? [1, 1],
      padding: c.padding ?? [0, 0],
      dilation: c.dilation ?? [1, 1],
      groups: c.groups ?? 1,
    } as const;
    it(`forward vs 7 loops: ${c.name}`, () => {
      const x = normal(c.x, 1, false);
      const w = normal(c.w, 2, false);
      const b = c.bias ? normal([c.w[0]!], 3, false) : null;
      const y = conv2d(x, w, b, opts);
      const ref = naiveConv(x, w, b, opts.stride as P2, opts.padding as P2, opts.dilation as P2, opts.groups);
      expect(y.shape).toEqual(ref.shape);
      expectClose(y.data, ref.data, 1e-5);
    });
    it(`gradient: ${c.name}`, () => {
      const x = normal(c.x, 4);
      const w = normal(c.w, 5);
      if (c.bias) expectGrad((a, k, b) => conv2d(a, k, b, opts), [x, w, normal([c.w[0]!], 6)], CONV_TOL);
      else expectGrad((a, k) => conv2d(a, k, null, opts), [x, w], CONV_TOL);
    });
  }

  it("the seeds' conv AE shapes: 28 → 14 → 7 with k3 s2 p1", () => {
    const x = normal([2, 1, 28, 28], 7, false);
    const h = conv2d(x, normal([32, 1, 3, 3], 8, false), null, { stride: 2, padding: 1 });
    expect(h.shape).toEqual([2, 32, 14, 14]);
    expect(conv2d(h, normal([64, 32, 3, 3], 9, false), null, { stride: 2, padding: 1 }).shape).toEqual([2, 64, 7, 7]);
  });

  it('channel mismatch names the op, the input shape and the expected channels', () => {
    expect(() => conv2d(tensor(new Float32Array(2 * 3 * 4 * 4), [2, 3, 4, 4]), tensor(new Float32Array(8 * 2 * 9), [8, 2, 3, 3]))).toThrow(
      /conv2d: input \[2, 3, 4, 4\] has 3 channels but weight \[8, 2, 3, 3\] expects 2/,
    );
  });
  it('other conv2d errors', () => {
    const x = tensor(new Float32Array(16), [1, 1, 4, 4]);
    expect(() => conv2d(tensor(new Float32Array(16), [4, 4]), tensor(new Float32Array(9), [1, 1, 3, 3]))).toThrow(
      /conv2d: expected a 4-D input/,
    );
    expect(() => conv2d(x, tensor(new Float32Array(25), [1, 1, 5, 5]))).toThrow(/conv2d: kernel 5×5.*larger than the padded input 4×4/);
    expect(() => conv2d(x, tensor(new Float32Array(9), [1, 1, 3, 3]), tensor([1, 2]))).toThrow(
      /conv2d: bias must have shape \[1\], got \[2\]/,
    );
    expect(() => conv2d(x, tensor(new Float32Array(9), [1, 1, 3, 3]), null, { stride: 0 })).toThrow(
      /conv2d: stride must be an integer ≥ 1/,
    );
    expect(() =>
      conv2d(tensor(new Float32Array(32), [1, 2, 4, 4]), tensor(new Float32Array(27), [3, 1, 3, 3]), null, { groups: 2 }),
    ).toThrow(/conv2d: groups=2 must divide/);
  });
});

interface ConvTCase {
  name: string;
  x: number[];
  w: number[];
  stride?: P2;
  padding?: P2;
  outputPadding?: P2;
  dilation?: P2;
  groups?: number;
  bias?: boolean;
}

const convTCases: ConvTCase[] = [
  { name: 'stride 1', x: [2, 3, 4, 3], w: [3, 2, 3, 3], bias: true },
  { name: 'stride 2', x: [2, 2, 3, 4], w: [2, 3, 3, 3], stride: [2, 2] },
  {
    name: 'stride 2 padding 1 outputPadding 1 (the 7 → 14 decoder step)',
    x: [1, 3, 4, 4],
    w: [3, 2, 3, 3],
    stride: [2, 2],
    padding: [1, 1],
    outputPadding: [1, 1],
    bias: true,
  },
  { name: 'non-square kernel, stride (2,1), padding (0,1)', x: [1, 2, 3, 4], w: [2, 2, 2, 3], stride: [2, 1], padding: [0, 1] },
  { name: 'dilation 2', x: [1, 2, 3, 3], w: [2, 2, 3, 3], dilation: [2, 2], bias: true },
  {
    name: 'dilation 2 stride 1 outputPadding 1 (allowed since < dilation)',
    x: [1, 2, 3, 3],
    w: [2, 1, 2, 2],
    dilation: [2, 2],
    outputPadding: [1, 1],
  },
  { name: 'groups 2', x: [2, 4, 3, 3], w: [4, 3, 3, 3], stride: [2, 2], padding: [1, 1], groups: 2, bias: true },
  { name: 'stride 3 kernel 2 (gaps in the output)', x: [1, 2, 3, 3], w: [2, 2, 2, 2], stride: [3, 3] },
];

describe('convTranspose2d', () => {
  for (const c of convTCases) {
    const opts = {
      stride: c.stride ?? [1, 1],
      padding: c.padding ?? [0, 0],
      outputPadding: c.outputPadding ?? [0, 0],
      dilation: c.dilation ?? [1, 1],
      groups: c.groups ?? 1,
    } as const;
    const cout = c.w[1]! * opts.groups;
    it(`forward vs scatter loops: ${c.name}`, () => {
      const x = normal(c.x, 11, false);
      const w = normal(c.w, 12, false);
      const b = c.bias ? normal([cout], 13, false) : null;
      const y = convTranspose2d(x, w, b, opts);
      const ref = naiveConvT(x, w, b, opts.stride as P2, opts.padding as P2, opts.dilation as P2, opts.outputPadding as P2, opts.groups);
      expect(y.shape).toEqual(ref.shape);
      expectClose(y.data, ref.data, 1e-5);
    });
    it(`gradient: ${c.name}`, () => {
      const x = normal(c.x, 14);
      const w = normal(c.w, 15);
      if (c.bias) expectGrad((a, k, b) => convTranspose2d(a, k, b, opts), [x, w, normal([cout], 16)], CONV_TOL);
      else expectGrad((a, k) => convTranspose2d(a, k, null, opts), [x, w], CONV_TOL);
    });
  }

  it('is the adjoint of conv2d: ⟨conv(x), y⟩ = ⟨x, convT(y)⟩', () => {
    const x = normal([2, 4, 7, 6], 17, false);
    const w = normal([6, 2, 3, 2], 18, false);
    const opts = { stride: [2, 1] as P2, padding: [1, 1] as P2, dilation: [1, 2] as P2, groups: 2 };
    const y = conv2d(x, w, null, opts);
    const g = normal(y.shape, 19, false);
    const op: P2 = [7 - ((y.shape[2]! - 1) * 2 - 2 + 3), 6 - ((y.shape[3]! - 1) * 1 - 2 + 2 * 1 + 1)];
    const xt = convTranspose2d(g, w, null, { ...opts, outputPadding: op });
    expect(xt.shape).toEqual(x.shape);
    let lhs = 0;
    let rhs = 0;
    for (let i = 0; i < y.size; i++) lhs += y.data[i]! * g.data[i]!;
    for (let i = 0; i < x.size; i++) rhs += x.data[i]! * xt.data[i]!;
    expect(lhs).toBeCloseTo(rhs, 3);
  });

  it('the decoder shapes 7 → 14 → 28 with k3 s2 p1 op1', () => {
    const z = normal([2, 64, 7, 7], 20, false);
    const h = convTranspose2d(z, normal([64, 32, 3, 3], 21, false), null, { stride: 2, padding: 1, outputPadding: 1 });
    expect(h.shape).toEqual([2, 32, 14, 14]);
    expect(convTranspose2d(h, normal([32, 1, 3, 3], 22, false), null, { stride: 2, padding: 1, outputPadding: 1 }).shape).toEqual([
      2, 1, 28, 28,
    ]);
  });

  it('errors name the op', () => {
    const x = tensor(new Float32Array(2 * 9), [1, 2, 3, 3]);
    expect(() => convTranspose2d(x, tensor(new Float32Array(27), [3, 1, 3, 3]))).toThrow(
      /convTranspose2d: input \[1, 2, 3, 3\] has 2 channels but weight \[3, 1, 3, 3\] expects 3/,
    );
    expect(() => convTranspose2d(x, tensor(new Float32Array(18), [2, 1, 3, 3]), null, { stride: 2, outputPadding: 2 })).toThrow(
      /convTranspose2d: outputPadding 2×2 must be smaller than stride or dilation/,
    );
  });
});

describe('pooling and upsampling', () => {
  /** Naive max/avg pooling (avg counts padding, as PyTorch's default). */
  function naivePool(x: Tensor, k: P2, s: P2, p: P2, kind: 'max' | 'avg', ceil = false): { data: number[]; shape: number[] } {
    const [B, C, H, W] = x.shape as [number, number, number, number];
    const rnd = ceil ? Math.ceil : Math.floor;
    let oH = rnd((H + 2 * p[0] - k[0]) / s[0]) + 1;
    let oW = rnd((W + 2 * p[1] - k[1]) / s[1]) + 1;
    if (ceil && (oH - 1) * s[0] >= H + p[0]) oH--;
    if (ceil && (oW - 1) * s[1] >= W + p[1]) oW--;
    const out: number[] = [];
    for (let n = 0; n < B * C; n++)
      for (let i = 0; i < oH; i++)
        for (let j = 0; j < oW; j++) {
          let best = -Infinity;
          let acc = 0;
          const h0 = i * s[0] - p[0];
          const w0 = j * s[1] - p[1];
          const hEnd = Math.min(h0 + k[0], H + p[0]);
          const wEnd = Math.min(w0 + k[1], W + p[1]);
          for (let a = h0; a < h0 + k[0]; a++)
            for (let b = w0; b < w0 + k[1]; b++) {
              if (a < 0 || a >= H || b < 0 || b >= W) continue;
              const v = x.data[n * H * W + a * W + b]!;
              best = Math.max(best, v);
              acc += v;
            }
          out.push(kind === 'max' ? best : acc / ((hEnd - h0) * (wEnd - w0)));
        }
    return { data: out, shape: [B, C, oH, oW] };
  }

  const poolCases: { name: string; x: number[]; k: P2; s: P2; p: P2; ceil?: boolean }[] = [
    { name: 'k2 s2', x: [2, 3, 6, 6], k: [2, 2], s: [2, 2], p: [0, 0] },
    { name: 'k3 s2 p1', x: [2, 2, 7, 6], k: [3, 3], s: [2, 2], p: [1, 1] },
    { name: 'k2 s1 (overlapping)', x: [1, 2, 4, 5], k: [2, 2], s: [1, 1], p: [0, 0] },
    { name: 'k (2,3) s (1,2) p (1,1)', x: [1, 2, 5, 6], k: [2, 3], s: [1, 2], p: [1, 1] },
    { name: 'k2 s2 on odd input (last row dropped)', x: [1, 1, 5, 5], k: [2, 2], s: [2, 2], p: [0, 0] },
    { name: 'k2 s2 ceil mode on odd input', x: [1, 1, 5, 5], k: [2, 2], s: [2, 2], p: [0, 0], ceil: true },
  ];

  for (const c of poolCases) {
    const opts = { stride: c.s, padding: c.p, ceilMode: c.ceil ?? false };
    it(`maxPool2d forward ${c.name}`, () => {
      const x = normal(c.x, 30, false);
      const y = maxPool2d(x, c.k, opts);
      const ref = naivePool(x, c.k, c.s, c.p, 'max', c.ceil);
      expect(y.shape).toEqual(ref.shape);
      expectClose(y.data, ref.data, 0);
    });
    it(`avgPool2d forward ${c.name}`, () => {
      const x = normal(c.x, 31, false);
      const y = avgPool2d(x, c.k, opts);
      const ref = naivePool(x, c.k, c.s, c.p, 'avg', c.ceil);
      expect(y.shape).toEqual(ref.shape);
      expectClose(y.data, ref.data, 1e-6);
    });
    it(`maxPool2d gradient ${c.name} (no ties)`, () => expectGrad((t) => maxPool2d(t, c.k, opts), [distinct(c.x, 32)], CONV_TOL));
    it(`avgPool2d gradient ${c.name}`, () => expectGrad((t) => avgPool2d(t, c.k, opts), [normal(c.x, 33)], CONV_TOL));
  }

  it('maxPool2d sends the gradient to the arg-max only', () => {
    const x = tensor(
      [
        [
          [
            [1, 5],
            [3, 2],
          ],
        ],
      ],
      undefined,
      { requiresGrad: true },
    );
    maxPool2d(x, 2).sum().backward();
    expect(x.grad!.toList()).toEqual([0, 1, 0, 0]);
  });

  it('upsampleNearest forward and gradient (factors 2 and (2,3))', () => {
    const x = tensor([
      [
        [
          [1, 2],
          [3, 4],
        ],
      ],
    ]);
    expect(upsampleNearest(x, 2).toArray()).toEqual([
      [
        [
          [1, 1, 2, 2],
          [1, 1, 2, 2],
          [3, 3, 4, 4],
          [3, 3, 4, 4],
        ],
      ],
    ]);
    expect(upsampleNearest(x, [1, 3]).toList()).toEqual([1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
    expectGrad((t) => upsampleNearest(t, 2), [normal([2, 2, 3, 2], 34)], CONV_TOL);
    expectGrad((t) => upsampleNearest(t, [2, 3]), [normal([1, 2, 2, 3], 35)], CONV_TOL);
  });

  it('upsampleNearest fused and as reshape / expand: the same values and gradients', () => {
    for (const s of [2, [2, 3], [1, 4]] as const)
      expectFusedMatchesComposite((t) => upsampleNearest(t, s), [normal([2, 3, 4, 5], 36)], {
        fusedOp: 'upsampleNearest',
        label: `upsample ${String(s)}`,
      });
  });

  it('pooling errors', () => {
    const x = tensor(new Float32Array(16), [1, 1, 4, 4]);
    expect(() => maxPool2d(x, 3, { padding: 2 })).toThrow(/maxPool2d: padding 2×2 must be at most half the kernel 3×3/);
    expect(() => avgPool2d(x, 5)).toThrow(/avgPool2d: kernel 5×5 is larger than the padded input 4×4/);
    expect(() => maxPool2d(tensor([1, 2]), 2)).toThrow(/maxPool2d: expected a 4-D input/);
  });
});
