/**
 * The optimizers against their update formulas, recomputed here in float64 loops (the torch
 * fixtures live in optimizers.torch.test.ts), plus the Optimizer contract: validation messages,
 * param groups, skipped parameters, zeroGrad, and state dicts that resume bit for bit.
 */
import { describe, expect, it } from 'vitest';
import { getBackend, optim, tensor, useBackend, type Backend, type Tensor } from '../../src/index.js';
import { primitivesOnly } from '../../src/kernels/registry.js';
import { expectArrayClose } from '../helpers/close.js';

const { SGD, Momentum, Nesterov, Adagrad, Adadelta, RMSprop, Adam, AdamW, createOptimizer } = optim;

// ---- float64 references: one function per optimizer, state in closures ----------------------------

type Step = (p: number[], g: number[]) => void;
type Ref = (n: number) => Step;

function refSGD(lr: number, momentum = 0, dampening = 0, nesterov = false, wd = 0): Ref {
  return (n) => {
    let b: number[] | null = null;
    return (p, g) => {
      const d = g.map((gi, i) => gi + wd * p[i]!);
      let step = d;
      if (momentum !== 0) {
        b = b === null ? d.slice() : b.map((bi, i) => momentum * bi + (1 - dampening) * d[i]!);
        step = nesterov ? d.map((di, i) => di + momentum * b![i]!) : b;
      }
      for (let i = 0; i < n; i++) p[i] = p[i]! - lr * step[i]!;
    };
  };
}

function refAdagrad(lr: number, lrDecay = 0, wd = 0, init = 0, eps = 1e-10): Ref {
  return (n) => {
    const s = new Array<number>(n).fill(init);
    let t = 0;
    return (p, g) => {
      t++;
      const clr = lr / (1 + (t - 1) * lrDecay);
      for (let i = 0; i < n; i++) {
        const gi = g[i]! + wd * p[i]!;
        s[i] = s[i]! + gi * gi;
        p[i] = p[i]! - (clr * gi) / (Math.sqrt(s[i]!) + eps);
      }
    };
  };
}

function refAdadelta(lr = 1, rho = 0.9, eps = 1e-6, wd = 0): Ref {
  return (n) => {
    const sq = new Array<number>(n).fill(0);
    const acc = new Array<number>(n).fill(0);
    return (p, g) => {
      for (let i = 0; i < n; i++) {
        const gi = g[i]! + wd * p[i]!;
        sq[i] = rho * sq[i]! + (1 - rho) * gi * gi;
        const delta = (Math.sqrt(acc[i]! + eps) / Math.sqrt(sq[i]! + eps)) * gi;
        acc[i] = rho * acc[i]! + (1 - rho) * delta * delta;
        p[i] = p[i]! - lr * delta;
      }
    };
  };
}

function refRMSprop(lr = 0.01, alpha = 0.99, eps = 1e-8, wd = 0, momentum = 0, centered = false): Ref {
  return (n) => {
    const sq = new Array<number>(n).fill(0);
    const ga = new Array<number>(n).fill(0);
    const buf = new Array<number>(n).fill(0);
    return (p, g) => {
      for (let i = 0; i < n; i++) {
        const gi = g[i]! + wd * p[i]!;
        sq[i] = alpha * sq[i]! + (1 - alpha) * gi * gi;
        let avg = sq[i]!;
        if (centered) {
          ga[i] = alpha * ga[i]! + (1 - alpha) * gi;
          avg -= ga[i]! * ga[i]!;
        }
        const denom = Math.sqrt(avg) + eps;
        if (momentum > 0) {
          buf[i] = momentum * buf[i]! + gi / denom;
          p[i] = p[i]! - lr * buf[i]!;
        } else p[i] = p[i]! - (lr * gi) / denom;
      }
    };
  };
}

function refAdam(lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0, amsgrad = false, decoupled = false): Ref {
  return (n) => {
    const m = new Array<number>(n).fill(0);
    const v = new Array<number>(n).fill(0);
    const vmax = new Array<number>(n).fill(0);
    let t = 0;
    return (p, g) => {
      t++;
      for (let i = 0; i < n; i++) {
        let gi = g[i]!;
        if (decoupled) p[i] = p[i]! * (1 - lr * wd);
        else gi += wd * p[i]!;
        m[i] = b1 * m[i]! + (1 - b1) * gi;
        v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
        vmax[i] = Math.max(vmax[i]!, v[i]!);
        const vh = amsgrad ? vmax[i]! : v[i]!;
        const mHat = m[i]! / (1 - Math.pow(b1, t));
        const vHat = vh / (1 - Math.pow(b2, t));
        p[i] = p[i]! - (lr * mHat) / (Math.sqrt(vHat) + eps);
      }
    };
  };
}

// ---- fixtures -----------------------------------------------------------------------------------

const P0 = [0.5, -1.25, 2.0, 0.75, -0.3, 1.1];
const GRADS = [
  [0.1, -0.4, 0.25, 1.5, -0.05, 0.3],
  [-0.2, 0.35, 0.5, -1.0, 0.6, 0.02],
  [0.05, 0.1, -0.75, 0.4, -0.3, -0.9],
  [0.3, -0.2, 0.1, 0.2, 0.15, 0.5],
  [-0.6, 0.05, 0.3, -0.35, 0.25, -0.1],
];

function param(values = P0, shape: number[] = [2, 3]): Tensor {
  return tensor(Float32Array.from(values), shape, { requiresGrad: true });
}

function setGrad(p: Tensor, g: readonly number[]): void {
  p.grad = tensor(Float32Array.from(g), p.shape);
}

interface Case {
  name: string;
  make: (params: Tensor[]) => optim.Optimizer<{ lr: number }, object>;
  ref: Ref;
}

const CASES: Case[] = [
  { name: 'SGD', make: (ps) => new SGD(ps, { lr: 0.1 }), ref: refSGD(0.1) },
  { name: 'SGD weight decay', make: (ps) => new SGD(ps, { lr: 0.1, weightDecay: 0.05 }), ref: refSGD(0.1, 0, 0, false, 0.05) },
  { name: 'SGD momentum+dampening', make: (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, dampening: 0.25 }), ref: refSGD(0.1, 0.9, 0.25) },
  { name: 'Momentum preset', make: (ps) => new Momentum(ps, { lr: 0.05 }), ref: refSGD(0.05, 0.9) },
  { name: 'Nesterov preset + wd', make: (ps) => new Nesterov(ps, { lr: 0.05, weightDecay: 0.01 }), ref: refSGD(0.05, 0.9, 0, true, 0.01) },
  { name: 'Adagrad', make: (ps) => new Adagrad(ps, { lr: 0.1 }), ref: refAdagrad(0.1) },
  {
    name: 'Adagrad lrDecay+wd+init',
    make: (ps) => new Adagrad(ps, { lr: 0.1, lrDecay: 0.1, weightDecay: 0.02, initialAccumulatorValue: 0.5 }),
    ref: refAdagrad(0.1, 0.1, 0.02, 0.5),
  },
  { name: 'Adadelta', make: (ps) => new Adadelta(ps), ref: refAdadelta() },
  {
    name: 'Adadelta rho+wd',
    make: (ps) => new Adadelta(ps, { lr: 0.5, rho: 0.95, weightDecay: 0.1 }),
    ref: refAdadelta(0.5, 0.95, 1e-6, 0.1),
  },
  { name: 'RMSprop', make: (ps) => new RMSprop(ps, { lr: 0.01 }), ref: refRMSprop(0.01) },
  { name: 'RMSprop centered', make: (ps) => new RMSprop(ps, { lr: 0.01, centered: true }), ref: refRMSprop(0.01, 0.99, 1e-8, 0, 0, true) },
  { name: 'RMSprop momentum', make: (ps) => new RMSprop(ps, { lr: 0.01, momentum: 0.5 }), ref: refRMSprop(0.01, 0.99, 1e-8, 0, 0.5) },
  {
    name: 'RMSprop centered+momentum+wd',
    make: (ps) => new RMSprop(ps, { lr: 0.01, alpha: 0.9, momentum: 0.8, centered: true, weightDecay: 0.1 }),
    ref: refRMSprop(0.01, 0.9, 1e-8, 0.1, 0.8, true),
  },
  { name: 'Adam', make: (ps) => new Adam(ps, { lr: 0.1 }), ref: refAdam(0.1) },
  {
    name: 'Adam amsgrad+wd+betas',
    make: (ps) => new Adam(ps, { lr: 0.1, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.1, amsgrad: true }),
    ref: refAdam(0.1, 0.8, 0.99, 1e-6, 0.1, true),
  },
  { name: 'AdamW (default wd 1e-2)', make: (ps) => new AdamW(ps, { lr: 0.1 }), ref: refAdam(0.1, 0.9, 0.999, 1e-8, 0.01, false, true) },
  {
    name: 'AdamW amsgrad',
    make: (ps) => new AdamW(ps, { lr: 0.1, weightDecay: 0.2, amsgrad: true }),
    ref: refAdam(0.1, 0.9, 0.999, 1e-8, 0.2, true, true),
  },
];

/** Runs `steps` steps of a fresh optimizer from P0 over GRADS. */
function run(c: Case, steps: number): { p: Tensor; opt: optim.Optimizer<{ lr: number }, object> } {
  const p = param();
  const opt = c.make([p]);
  for (let t = 0; t < steps; t++) {
    opt.zeroGrad();
    setGrad(p, GRADS[t]!);
    opt.step();
  }
  return { p, opt };
}

describe('each optimizer follows its update formula (float64 reference)', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const p = param();
      const opt = c.make([p]);
      const want = P0.slice();
      const refStep = c.ref(P0.length);
      for (let t = 0; t < 3; t++) {
        opt.zeroGrad();
        setGrad(p, GRADS[t]!);
        opt.step();
        refStep(want, GRADS[t]!);
        expectArrayClose(p.data, want, `${c.name} after step ${t + 1}`, { rtol: 1e-5, atol: 1e-6 });
      }
      // A real step happened (guards against a reference that is as broken as the code).
      expect(Array.from(p.data)).not.toEqual(Array.from(Float32Array.from(P0)));
    });
  }

  it('first Adam step moves every coordinate by about lr (bias correction works)', () => {
    const p = param();
    const opt = new Adam([p], { lr: 0.01 });
    setGrad(p, GRADS[0]!);
    opt.step();
    // m̂ = g, v̂ = g², so the step is lr·g/(|g| + eps) = lr·sign(g).
    P0.forEach((v, i) => expect(p.data[i]).toBeCloseTo(v - 0.01 * Math.sign(GRADS[0]![i]!), 6));
  });

  it('Adam and AdamW differ only in how weight decay enters', () => {
    const a = param();
    const w = param();
    const adam = new Adam([a], { lr: 0.1, weightDecay: 0 });
    const adamw = new AdamW([w], { lr: 0.1, weightDecay: 0 });
    for (let t = 0; t < 3; t++) {
      setGrad(a, GRADS[t]!);
      setGrad(w, GRADS[t]!);
      adam.step();
      adamw.step();
    }
    expect(Array.from(w.data)).toEqual(Array.from(a.data));
  });
});

describe('each optimizer in primitive kernels (a backend without the fused steps: optim/flat.ts)', () => {
  /** Steps a fresh optimizer from P0 over GRADS on backend b; returns the parameter and the state buffers. */
  function stepsOn(b: Backend, c: Case, steps: number): { p: Float32Array; state: Record<string, Float32Array> } {
    const saved = getBackend();
    useBackend(b);
    try {
      const { p, opt } = run(c, steps);
      const state: Record<string, Float32Array> = {};
      for (const [k, v] of Object.entries(opt.getState(p) ?? {})) if (v instanceof Float32Array) state[k] = v.slice();
      return { p: p.data.slice(), state };
    } finally {
      useBackend(saved);
    }
  }

  for (const c of CASES) {
    it(`${c.name}: the formula (float64 reference), and the fused step's parameter and state`, () => {
      const prim = primitivesOnly(getBackend());
      expect(prim.fused).toBeUndefined();
      const want = P0.slice();
      const refStep = c.ref(P0.length);
      for (let t = 0; t < GRADS.length; t++) refStep(want, GRADS[t]!);
      const composite = stepsOn(prim, c, GRADS.length);
      expectArrayClose(composite.p, want, `${c.name} after ${GRADS.length} steps`, { rtol: 1e-5, atol: 1e-6 });
      const fused = stepsOn(getBackend(), c, GRADS.length);
      expectArrayClose(composite.p, fused.p, `${c.name}: parameter, composite vs fused`, { rtol: 1e-5, atol: 1e-6 });
      expect(Object.keys(composite.state).sort()).toEqual(Object.keys(fused.state).sort());
      for (const k of Object.keys(fused.state))
        expectArrayClose(composite.state[k]!, fused.state[k]!, `${c.name}: state '${k}', composite vs fused`, { rtol: 1e-5, atol: 1e-7 });
    });
  }
});

describe('validation', () => {
  const p = () => [param()];
  const bad: [string, () => unknown, RegExp][] = [
    ['negative lr', () => new Adam(p(), { lr: -1 }), /^Adam: invalid lr = -1 \(must be a finite number >= 0\)$/],
    ['NaN lr', () => new SGD(p(), { lr: Number.NaN }), /SGD: invalid lr = NaN/],
    ['SGD without lr', () => new SGD(p(), {}), /SGD param group 0: lr is required/],
    ['beta1 = 1', () => new Adam(p(), { betas: [1, 0.999] }), /Adam: invalid betas\[0\] = 1 \(must be in \[0, 1\)\)/],
    ['beta2 < 0', () => new AdamW(p(), { betas: [0.9, -0.1] }), /AdamW: invalid betas\[1\] = -0.1/],
    [
      'betas not a pair',
      () => new Adam(p(), { betas: [0.9] as unknown as [number, number] }),
      /Adam: invalid betas = \[0.9\] \(must be a pair/,
    ],
    ['negative eps', () => new Adam(p(), { eps: -1e-8 }), /Adam: invalid eps = -1e-8/],
    ['negative weightDecay', () => new RMSprop(p(), { weightDecay: -0.1 }), /RMSprop: invalid weightDecay = -0.1/],
    ['negative momentum', () => new SGD(p(), { lr: 0.1, momentum: -0.5 }), /SGD: invalid momentum = -0.5/],
    [
      'nesterov without momentum',
      () => new SGD(p(), { lr: 0.1, nesterov: true }),
      /SGD: invalid nesterov = true \(Nesterov momentum needs momentum > 0\)/,
    ],
    [
      'nesterov with dampening',
      () => new SGD(p(), { lr: 0.1, momentum: 0.9, nesterov: true, dampening: 0.1 }),
      /SGD: invalid dampening = 0.1 \(Nesterov momentum needs dampening 0\)/,
    ],
    ['rho > 1', () => new Adadelta(p(), { rho: 1.5 }), /Adadelta: invalid rho = 1.5 \(must be in \[0, 1\]\)/],
    ['alpha > 1', () => new RMSprop(p(), { alpha: 2 }), /RMSprop: invalid alpha = 2/],
    ['negative lrDecay', () => new Adagrad(p(), { lrDecay: -1 }), /Adagrad: invalid lrDecay = -1/],
    [
      'negative initialAccumulatorValue',
      () => new Adagrad(p(), { initialAccumulatorValue: -0.1 }),
      /Adagrad: invalid initialAccumulatorValue = -0.1/,
    ],
    [
      'amsgrad not boolean',
      () => new Adam(p(), { amsgrad: 1 as unknown as boolean }),
      /Adam: invalid amsgrad = 1 \(must be true or false\)/,
    ],
    [
      'unknown option',
      () => new Adam(p(), { momentum: 0.9 } as never),
      /Adam: unknown option 'momentum' \(known: lr, betas, eps, weightDecay, amsgrad\)/,
    ],
    ['bad group override', () => new Adam([{ params: p() }, { params: p(), lr: -0.5 }]), /Adam param group 1: invalid lr = -0.5/],
    ['empty params', () => new Adam([]), /Adam: got an empty parameter list/],
    ['non-tensor param', () => new Adam([{ params: [1 as unknown as Tensor] }]), /Adam: param group 0 params\[0\] is not a Tensor/],
    ['non-leaf param', () => new Adam([param().mul(2)]), /not a leaf tensor/],
    [
      'same tensor in two groups',
      () => {
        const t = param();
        return new Adam([{ params: [t] }, { params: [t] }]);
      },
      /Adam param group 1: params\[0\] \(shape \[2, 3\]\) already appears in a param group/,
    ],
    [
      'createOptimizer unknown name',
      () => createOptimizer('lbfgs', p()),
      /createOptimizer: unknown optimizer 'lbfgs' \(known: sgd, momentum/,
    ],
    [
      'createOptimizer option the optimizer lacks',
      () => createOptimizer('adam', p(), { momentum: 0.9 }),
      /Adam: unknown option 'momentum'/,
    ],
  ];
  for (const [name, fn, msg] of bad) it(name, () => expect(fn).toThrow(msg));

  it('the lr setter and live group edits are validated too', () => {
    const opt = new Adam(p(), { lr: 0.1 });
    expect(() => (opt.lr = -2)).toThrow(/Adam: invalid lr = -2/);
    opt.paramGroups[0]!.eps = -1;
    expect(() => opt.step()).toThrow(/Adam param group 0: invalid eps = -1/);
  });

  it('a gradient of the wrong size is named', () => {
    const t = param();
    const opt = new SGD([t], { lr: 0.1 });
    t.grad = tensor([1, 2, 3], [3]);
    expect(() => opt.step()).toThrow(/SGD: param group 0 params\[0\] has shape \[2, 3\] but its grad has shape \[3\]/);
  });
});

describe('param groups, lr, skipping, zeroGrad', () => {
  it('groups take their own lr and overrides, the rest from the defaults', () => {
    const a = param();
    const b = param();
    const opt = new SGD(
      [
        { params: [a], lr: 0.1 },
        { params: [b], momentum: 0.5 },
      ],
      { lr: 0.01 },
    );
    expect(opt.paramGroups.map((g) => [g.lr, g.momentum])).toEqual([
      [0.1, 0],
      [0.01, 0.5],
    ]);
    expect(opt.lr).toBe(0.1);
    const refA = refSGD(0.1)(6);
    const refB = refSGD(0.01, 0.5)(6);
    const wa = P0.slice();
    const wb = P0.slice();
    for (let t = 0; t < 3; t++) {
      setGrad(a, GRADS[t]!);
      setGrad(b, GRADS[t]!);
      opt.step();
      refA(wa, GRADS[t]!);
      refB(wb, GRADS[t]!);
    }
    expectArrayClose(a.data, wa, 'group 0');
    expectArrayClose(b.data, wb, 'group 1');
  });

  it('lr is live: changing it between steps changes the next step only', () => {
    const t = param([1], [1]);
    const opt = new SGD([t], { lr: 0.5 });
    setGrad(t, [1]);
    opt.step();
    expect(t.data[0]).toBeCloseTo(0.5, 7);
    opt.lr = 0.25;
    expect(opt.paramGroups[0]!.lr).toBe(0.25);
    opt.step();
    expect(t.data[0]).toBeCloseTo(0.25, 7);
  });

  it('addParamGroup adds a group with defaults filled in', () => {
    const a = param();
    const opt = new Adam([a], { lr: 0.02 });
    opt.addParamGroup({ params: [param()], betas: [0.5, 0.6] });
    expect(opt.paramGroups[1]).toMatchObject({ lr: 0.02, betas: [0.5, 0.6], eps: 1e-8, amsgrad: false });
    expect(() => opt.addParamGroup({ params: [a] })).toThrow(/already appears/);
  });

  it('parameters without a grad are skipped and get no state', () => {
    for (const c of CASES) {
      const a = param();
      const b = param();
      const opt = c.make([a, b]);
      setGrad(a, GRADS[0]!);
      opt.step();
      expect(Array.from(b.data), c.name).toEqual(Array.from(Float32Array.from(P0)));
      expect(opt.getState(b), c.name).toBeUndefined();
      expect(opt.getState(a), c.name).toBeDefined();
    }
  });

  it("a skipped step does not advance a parameter's step count", () => {
    const a = param();
    const b = param();
    const opt = new Adam([a, b], { lr: 0.1 });
    setGrad(a, GRADS[0]!);
    setGrad(b, GRADS[0]!);
    opt.step();
    opt.zeroGrad();
    setGrad(a, GRADS[1]!);
    opt.step();
    expect(opt.getState(a)!.step).toBe(2);
    expect(opt.getState(b)!.step).toBe(1);
  });

  it('zeroGrad sets grads to null and disposes them', () => {
    const a = param();
    const opt = new SGD([a], { lr: 0.1 });
    setGrad(a, GRADS[0]!);
    const g = a.grad!;
    opt.zeroGrad();
    expect(a.grad).toBeNull();
    expect(g.isDisposed).toBe(true);
  });

  it('state lives in the optimizer, not on the tensor', () => {
    const a = param();
    const keys = Object.keys(a).sort();
    const opt = new Adam([a]);
    setGrad(a, GRADS[0]!);
    opt.step();
    expect(Object.keys(a).sort()).toEqual(keys);
    expect(opt.getState(a)!.expAvg).toBeInstanceOf(Float32Array);
  });

  it('works with autograd gradients (backward, then step)', () => {
    const w = param([1, 2, 3], [3]);
    const opt = new SGD([w], { lr: 0.1 });
    w.mul(w).sum().backward(); // d/dw Σw² = 2w
    opt.step();
    expectArrayClose(w.data, [0.8, 1.6, 2.4], 'w');
  });
});

describe('state buffers follow the kernel backend', () => {
  it('buffers come from the current backend, and move when it changes mid-run', () => {
    const base = getBackend();
    const allocs: number[] = [];
    const freed: number[] = [];
    // A distinct kernel table over the same kernels (a Proxy, so class-based backends work too).
    const tracking = new Proxy(base, {
      get(target, key) {
        if (key === 'name') return 'tracking';
        if (key === 'alloc')
          return (n: number) => {
            allocs.push(n);
            return target.alloc(n);
          };
        if (key === 'free')
          return (a: Float32Array) => {
            freed.push(a.length);
            target.free(a);
          };
        const v: unknown = Reflect.get(target, key, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as Backend;
    const c = CASES.find((k) => k.name === 'Adam amsgrad+wd+betas')!;
    const straight = run(c, 4).p;
    const p = param();
    const opt = c.make([p]);
    try {
      for (let t = 0; t < 4; t++) {
        if (t === 2) useBackend(tracking);
        opt.zeroGrad();
        setGrad(p, GRADS[t]!);
        opt.step();
      }
      // m, v, vmax moved into the new backend's memory (grads made there allocate too).
      expect(allocs.filter((n) => n === 6).length).toBeGreaterThanOrEqual(3);
      const before = freed.length;
      opt.dispose();
      expect(freed.slice(before)).toEqual([6, 6, 6]); // m, v, vmax returned to the backend that made them
      expect(opt.getState(p)).toBeUndefined();
    } finally {
      useBackend(base);
    }
    expect(Array.from(p.data)).toEqual(Array.from(straight.data));
  });
});

describe('createOptimizer', () => {
  it('builds each named optimizer with the given options', () => {
    const expected: Record<string, string> = {
      sgd: 'SGD',
      momentum: 'Momentum',
      nesterov: 'Nesterov',
      adagrad: 'Adagrad',
      adadelta: 'Adadelta',
      rmsprop: 'RMSprop',
      adam: 'Adam',
      adamw: 'AdamW',
    };
    for (const name of optim.OPTIMIZER_NAMES) {
      const opt = createOptimizer(name, [param()], { lr: 0.123, weightDecay: 0.01, eps: undefined });
      expect(opt.name).toBe(expected[name]);
      expect(opt.lr).toBe(0.123);
      expect(opt.paramGroups[0]!.weightDecay).toBe(0.01);
    }
    expect(createOptimizer('Nesterov', [param()], { lr: 0.1 }).paramGroups[0]).toMatchObject({ momentum: 0.9, nesterov: true });
  });
});

describe('stateDict / loadStateDict', () => {
  for (const c of CASES) {
    it(`${c.name}: 3 steps, save (through JSON), load into a fresh optimizer, 2 more == 5 straight`, () => {
      const straight = run(c, 5).p;
      const { p: p1, opt: o1 } = run(c, 3);
      const saved = JSON.parse(JSON.stringify(o1.stateDict())) as optim.OptimizerStateDict;
      const p2 = param(Array.from(p1.data));
      const o2 = c.make([p2]);
      o2.loadStateDict(saved);
      for (let t = 3; t < 5; t++) {
        o2.zeroGrad();
        setGrad(p2, GRADS[t]!);
        o2.step();
      }
      expect(Array.from(p2.data)).toEqual(Array.from(straight.data));
    });
  }

  it('has PyTorch layout: state by parameter index, groups list indices and hyperparameters', () => {
    const a = param();
    const b = param([1, 2], [2]);
    const c = param([3], [1]);
    const opt = new Adam([{ params: [a, b] }, { params: [c], lr: 0.5 }], { lr: 0.1 });
    setGrad(a, GRADS[0]!);
    setGrad(c, [0.5]);
    opt.step();
    const sd = opt.stateDict();
    expect(sd.optimizer).toBe('Adam');
    expect(Object.keys(sd.state)).toEqual(['0', '2']);
    expect(sd.state['2']).toEqual({
      step: 1,
      expAvg: { shape: [1], data: [Math.fround(0.05)] },
      expAvgSq: { shape: [1], data: [Math.fround(0.00025)] },
    });
    expect(sd.paramGroups).toEqual([
      { lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, params: [0, 1] },
      { lr: 0.5, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, params: [2] },
    ]);
    // The dict is a copy: stepping again does not change it.
    opt.step();
    expect(sd.state['2']!.step).toBe(1);
    // typed: Float32Array buffers, which load just the same.
    const typed = opt.stateDict({ typed: true });
    expect((typed.state['0']!.expAvg as optim.SerializedBuffer).data).toBeInstanceOf(Float32Array);
    const o2 = new Adam([{ params: [param(), param([1, 2], [2])] }, { params: [param([3], [1])] }]);
    o2.loadStateDict(typed);
    expect(o2.stateDict()).toEqual(opt.stateDict());
  });

  it('restores group hyperparameters (lr changed by a scheduler)', () => {
    const opt = new SGD([param()], { lr: 0.1, momentum: 0.9 });
    opt.lr = 0.0125;
    const o2 = new SGD([param()], { lr: 0.1 });
    o2.loadStateDict(opt.stateDict());
    expect(o2.paramGroups[0]).toMatchObject({ lr: 0.0125, momentum: 0.9 });
  });

  it('Momentum/Nesterov/SGD share a state dict kind', () => {
    const { opt } = run(CASES[3]!, 2);
    expect(opt.stateDict().optimizer).toBe('SGD');
    const o2 = new SGD([param()], { lr: 0.05 });
    expect(() => o2.loadStateDict(opt.stateDict())).not.toThrow();
    expect(o2.paramGroups[0]!.momentum).toBe(0.9);
  });

  describe('rejects a state dict that does not fit, naming what differs', () => {
    const make = () => {
      const opt = new Adam([{ params: [param(), param([1, 2], [2])] }, { params: [param([3], [1])] }], { lr: 0.1 });
      opt.parameters().forEach((p) =>
        setGrad(
          p,
          Array.from(p.data, (v) => v / 10),
        ),
      );
      opt.step();
      return opt;
    };
    const sd = () => JSON.parse(JSON.stringify(make().stateDict())) as optim.OptimizerStateDict;
    const cases: [string, (s: optim.OptimizerStateDict) => void, RegExp][] = [
      ['another optimizer', (s) => (s.optimizer = 'SGD'), /Adam.loadStateDict: the state dict is from "SGD", this optimizer is Adam/],
      ['group count', (s) => s.paramGroups.pop(), /has 1 param groups, this optimizer has 2/],
      ['param count', (s) => s.paramGroups[0]!.params.pop(), /param group 0 has 1 parameters in the state dict, 2 in this optimizer/],
      [
        'buffer size',
        (s) => ((s.state['1']!.expAvg as optim.SerializedBuffer).data as number[]).push(0),
        /state of parameter 1 \(shape \[2\]\): buffer 'expAvg' has 3 values, the parameter has 2/,
      ],
      [
        'buffer shape',
        (s) => ((s.state['0']!.expAvgSq as optim.SerializedBuffer).shape = [3, 2]),
        /state of parameter 0 \(shape \[2, 3\]\): buffer 'expAvgSq' has shape \[3, 2\], the parameter has shape \[2, 3\]/,
      ],
      ['missing buffer', (s) => delete s.state['2']!.expAvgSq, /state of parameter 2 \(shape \[1\]\) lacks 'expAvgSq'/],
      [
        'amsgrad switched on without its buffer',
        (s) => (s.paramGroups[1]!.amsgrad = true),
        /state of parameter 2 \(shape \[1\]\) lacks 'maxExpAvgSq'/,
      ],
      ['unknown entry', (s) => (s.state['0']!.momentumBuffer = 3), /has an unknown entry 'momentumBuffer'/],
      ['state for a parameter no group lists', (s) => (s.state['7'] = {}), /state for parameter id 7, which no param group lists/],
      ['invalid hyperparameter', (s) => (s.paramGroups[0]!.lr = -1), /param group 0: invalid lr = -1/],
      ['unknown hyperparameter', (s) => (s.paramGroups[0]!.rho = 0.9), /param group 0: unknown option 'rho'/],
      ['bad step', (s) => (s.state['0']!.step = -3), /'step' must be a finite number >= 0, got -3/],
    ];
    for (const [name, mutate, msg] of cases) {
      it(name, () => {
        const target = make();
        const before = JSON.stringify(target.stateDict());
        const s = sd();
        mutate(s);
        expect(() => target.loadStateDict(s)).toThrow(msg);
        // Nothing changed.
        expect(JSON.stringify(target.stateDict())).toBe(before);
      });
    }
  });

  it('resetState forgets moments; the next step is a first step again', () => {
    const p = param();
    const opt = new Adam([p], { lr: 0.01 });
    setGrad(p, GRADS[0]!);
    opt.step();
    opt.resetState();
    expect(opt.getState(p)).toBeUndefined();
    const before = Array.from(p.data);
    opt.step();
    before.forEach((v, i) => expect(p.data[i]).toBeCloseTo(v - 0.01 * Math.sign(GRADS[0]![i]!), 6));
  });
});
