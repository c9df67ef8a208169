/**
 * Learning-rate schedulers: lr sequences against their closed forms and hand-traced plateau
 * runs, validation, and state dicts that resume exactly. (PyTorch's own values are checked in
 * schedulers.torch.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { optim, tensor, type Tensor } from '../../src/index.js';

const { SGD, StepLR, ExponentialLR, CosineAnnealingLR, ReduceLROnPlateau } = optim;

function sgd(lrs: number[] = [0.1]): { opt: optim.SGD; params: Tensor[] } {
  const params = lrs.map(() => tensor([1, -1], [2], { requiresGrad: true }));
  const opt = new SGD(
    params.map((p, i) => ({ params: [p], lr: lrs[i] })),
    { lr: lrs[0] },
  );
  return { opt, params };
}

/** One epoch: a gradient, an optimizer step, a scheduler step. Returns every group's lr. */
function epoch(opt: optim.SGD, params: Tensor[], sched: { step(m?: number): void }, metric?: number): number[] {
  opt.zeroGrad();
  for (const p of params) p.grad = tensor([0.5, 0.5], [2]);
  opt.step();
  if (metric === undefined) sched.step();
  else (sched as optim.ReduceLROnPlateau).step(metric);
  return opt.paramGroups.map((g) => g.lr);
}

function expectClose(actual: number[], expected: number[], tol = 1e-12): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    if (Math.abs(a - expected[i]!) > tol * Math.max(1, Math.abs(expected[i]!)))
      throw new Error(`index ${i}: ${a} != ${expected[i]} (all: ${actual.join(', ')})`);
  });
}

describe('epoch schedulers follow their closed forms', () => {
  it('construction leaves the lr alone and records initialLr', () => {
    const { opt } = sgd([0.1, 0.02]);
    const s = new CosineAnnealingLR(opt, { tMax: 4 });
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.1, 0.02]);
    expect(opt.paramGroups.map((g) => g.initialLr)).toEqual([0.1, 0.02]);
    expect(s.getLastLr()).toEqual([0.1, 0.02]);
    expect(s.lastEpoch).toBe(0);
  });

  it('StepLR: lr₀·γ^⌊e/stepSize⌋, per group', () => {
    const { opt, params } = sgd([0.1, 0.3]);
    const s = new StepLR(opt, { stepSize: 3, gamma: 0.5 });
    for (let e = 1; e <= 12; e++) {
      const lrs = epoch(opt, params, s);
      const f = Math.pow(0.5, Math.floor(e / 3));
      expectClose(lrs, [0.1 * f, 0.3 * f]);
      expect(s.getLastLr()).toEqual(lrs);
    }
  });

  it('StepLR default gamma is 0.1', () => {
    const { opt, params } = sgd([1]);
    const s = new StepLR(opt, { stepSize: 1 });
    expectClose(epoch(opt, params, s), [0.1]);
  });

  it('ExponentialLR: lr₀·γ^e', () => {
    const { opt, params } = sgd([0.2]);
    const s = new ExponentialLR(opt, { gamma: 0.9 });
    for (let e = 1; e <= 10; e++) expectClose(epoch(opt, params, s), [0.2 * Math.pow(0.9, e)]);
  });

  it('CosineAnnealingLR: ηmin + (lr₀ − ηmin)(1 + cos(πe/T))/2, through the minimum and back up', () => {
    const { opt, params } = sgd([0.1, 0.05]);
    const T = 5;
    const etaMin = 0.001;
    const s = new CosineAnnealingLR(opt, { tMax: T, etaMin });
    const seen: number[] = [];
    for (let e = 1; e <= 3 * T; e++) {
      const lrs = epoch(opt, params, s);
      const f = (1 + Math.cos((Math.PI * e) / T)) / 2;
      expectClose(lrs, [etaMin + (0.1 - etaMin) * f, etaMin + (0.05 - etaMin) * f], 1e-10);
      seen.push(lrs[0]!);
    }
    expect(seen[T - 1]).toBeCloseTo(etaMin, 12);
    expect(seen[2 * T - 1]).toBeCloseTo(0.1, 12);
  });

  it('CosineAnnealingLR with etaMin 0 reaches exactly 0 at tMax and recovers', () => {
    const { opt, params } = sgd([0.1]);
    const s = new CosineAnnealingLR(opt, { tMax: 4 });
    const lrs = Array.from({ length: 8 }, () => epoch(opt, params, s)[0]!);
    expect(lrs[3]).toBe(0);
    expect(lrs[4]).toBeCloseTo((0.1 * (1 + Math.cos((5 * Math.PI) / 4))) / 2, 14);
  });

  it('follows a hand-set lr (recursive form, as PyTorch)', () => {
    const { opt, params } = sgd([0.1]);
    const s = new ExponentialLR(opt, { gamma: 0.5 });
    epoch(opt, params, s);
    opt.lr = 1;
    expectClose(epoch(opt, params, s), [0.5]);
  });
});

describe('ReduceLROnPlateau', () => {
  it('min mode, rel threshold, patience, cooldown and a minLr floor (hand-traced)', () => {
    const { opt, params } = sgd([0.1]);
    const s = new ReduceLROnPlateau(opt, { factor: 0.5, patience: 1, cooldown: 1, threshold: 0.1, minLr: 0.02 });
    // Improvements must beat best·0.9. Epoch 3 is the second bad epoch (> patience 1): halve;
    // epoch 4 improves (and is in cooldown); 5–6 bad: halve; 7 cooldown; 8–9 bad: halve but
    // floor at 0.02; 11–12 bad again: 0.02·0.5 floors to 0.02, a change of 0, so nothing happens.
    const metrics = [1.0, 0.95, 0.95, 0.8, 0.79, 0.79, 0.79, 0.79, 0.79, 0.79, 0.79, 0.79];
    const lrs = metrics.map((m) => epoch(opt, params, s, m)[0]!);
    expectClose(lrs, [0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.02, 0.02, 0.02, 0.02]);
    expect(s.best).toBe(0.8);
    expect(s.getLastLr()).toEqual([0.02]);
  });

  it('max mode with an absolute threshold', () => {
    const { opt, params } = sgd([1]);
    const s = new ReduceLROnPlateau(opt, { mode: 'max', threshold: 0.05, thresholdMode: 'abs', patience: 0, factor: 0.1 });
    const lrs = [0.5, 0.56, 0.6, 0.7, 0.7].map((m) => epoch(opt, params, s, m)[0]!);
    expectClose(lrs, [1, 1, 0.1, 0.1, 0.01]);
  });

  it('a NaN metric counts as a bad epoch; per-group minLr', () => {
    const { opt, params } = sgd([0.1, 0.1]);
    const s = new ReduceLROnPlateau(opt, { patience: 0, minLr: [0, 0.08] });
    epoch(opt, params, s, 1);
    expectClose(epoch(opt, params, s, Number.NaN), [0.01, 0.08]);
  });
});

describe('scheduler state dicts resume exactly', () => {
  const makers: [string, (o: optim.SGD) => { step(m?: number): void; stateDict(): unknown; loadStateDict(sd: never): void }][] = [
    ['StepLR', (o) => new StepLR(o, { stepSize: 2, gamma: 0.7 })],
    ['ExponentialLR', (o) => new ExponentialLR(o, { gamma: 0.93 })],
    ['CosineAnnealingLR', (o) => new CosineAnnealingLR(o, { tMax: 4, etaMin: 0.003 })],
    ['ReduceLROnPlateau', (o) => new ReduceLROnPlateau(o, { factor: 0.5, patience: 1, cooldown: 1 })],
  ];
  const metric = (e: number): number => 1 / (1 + e) + (e % 3 === 0 ? 0.5 : 0);

  for (const [name, make] of makers) {
    it(`${name}: 5 epochs, save optimizer + scheduler (JSON), restore into fresh ones, 10 more == 15 straight`, () => {
      const plateau = name === 'ReduceLROnPlateau';
      const a = sgd([0.1, 0.04]);
      const sa = make(a.opt);
      const straight: number[][] = [];
      for (let e = 0; e < 15; e++) straight.push(epoch(a.opt, a.params, sa, plateau ? metric(e) : undefined));

      const b = sgd([0.1, 0.04]);
      const sb = make(b.opt);
      for (let e = 0; e < 5; e++) epoch(b.opt, b.params, sb, plateau ? metric(e) : undefined);
      const saved = JSON.parse(JSON.stringify({ opt: b.opt.stateDict(), sched: sb.stateDict() })) as {
        opt: optim.OptimizerStateDict;
        sched: never;
      };

      // Fresh run: different starting lrs, which the loaded state must override.
      const c = sgd([0.9, 0.9]);
      c.params.forEach((p, i) => p.data.set(b.params[i]!.data));
      c.opt.loadStateDict(saved.opt);
      const sc = make(c.opt);
      sc.loadStateDict(saved.sched);
      const resumed: number[][] = [];
      for (let e = 5; e < 15; e++) resumed.push(epoch(c.opt, c.params, sc, plateau ? metric(e) : undefined));
      expect(resumed).toEqual(straight.slice(5));
      c.params.forEach((p, i) => expect(Array.from(p.data)).toEqual(Array.from(a.params[i]!.data)));
    });
  }

  it("a scheduler built after loading an optimizer's state takes its initialLr as base", () => {
    const a = sgd([0.1]);
    const s = new StepLR(a.opt, { stepSize: 1, gamma: 0.5 });
    epoch(a.opt, a.params, s);
    epoch(a.opt, a.params, s);
    const b = sgd([0.7]);
    b.opt.loadStateDict(a.opt.stateDict());
    const s2 = new StepLR(b.opt, { stepSize: 1, gamma: 0.5 });
    expect(s2.baseLrs).toEqual([0.1]);
    expect(b.opt.lr).toBe(0.025);
  });

  it('ReduceLROnPlateau keeps an infinite best through JSON', () => {
    const { opt } = sgd([0.1]);
    const s = new ReduceLROnPlateau(opt, { mode: 'max' });
    const sd = JSON.parse(JSON.stringify(s.stateDict())) as optim.ReduceLROnPlateauStateDict;
    expect(sd.best).toBe('-Infinity');
    const s2 = new ReduceLROnPlateau(opt);
    s2.loadStateDict(sd);
    expect(s2.best).toBe(-Infinity);
    expect(s2.options.mode).toBe('max');
  });
});

describe('scheduler validation', () => {
  const opt = () => sgd([0.1, 0.2]).opt;
  const bad: [string, () => unknown, RegExp][] = [
    ['StepLR stepSize 0', () => new StepLR(opt(), { stepSize: 0 }), /^StepLR: invalid stepSize = 0 \(must be an integer >= 1\)$/],
    ['StepLR stepSize 1.5', () => new StepLR(opt(), { stepSize: 1.5 }), /StepLR: invalid stepSize = 1.5/],
    ['StepLR missing stepSize', () => new StepLR(opt(), {} as never), /StepLR: option 'stepSize' is required/],
    ['ExponentialLR negative gamma', () => new ExponentialLR(opt(), { gamma: -0.5 }), /ExponentialLR: invalid gamma = -0.5/],
    [
      'CosineAnnealingLR tMax 0',
      () => new CosineAnnealingLR(opt(), { tMax: 0 }),
      /CosineAnnealingLR: invalid tMax = 0 \(must be a finite number > 0\)/,
    ],
    ['CosineAnnealingLR unknown option', () => new CosineAnnealingLR(opt(), { tMax: 3, T_max: 3 } as never), /unknown option 'T_max'/],
    [
      'plateau factor 1',
      () => new ReduceLROnPlateau(opt(), { factor: 1 }),
      /ReduceLROnPlateau: invalid factor = 1 \(must be in \[0, 1\)\)/,
    ],
    ['plateau mode', () => new ReduceLROnPlateau(opt(), { mode: 'median' as never }), /ReduceLROnPlateau: invalid mode = "median"/],
    ['plateau thresholdMode', () => new ReduceLROnPlateau(opt(), { thresholdMode: 'pct' as never }), /invalid thresholdMode = "pct"/],
    ['plateau patience', () => new ReduceLROnPlateau(opt(), { patience: -1 }), /invalid patience = -1 \(must be an integer >= 0\)/],
    [
      'plateau minLr per group',
      () => new ReduceLROnPlateau(opt(), { minLr: [0.1] }),
      /invalid minLr = \[0.1\] \(needs one value per param group \(2\)\)/,
    ],
    [
      'plateau metric',
      () => new ReduceLROnPlateau(opt()).step('0.5' as never),
      /ReduceLROnPlateau.step: metric must be a number, got "0.5"/,
    ],
    ['not an optimizer', () => new StepLR({} as never, { stepSize: 1 }), /StepLR: expected an optimizer with paramGroups/],
  ];
  for (const [name, fn, msg] of bad) it(name, () => expect(fn).toThrow(msg));

  it('loadStateDict refuses another scheduler or another group count', () => {
    const s = new StepLR(opt(), { stepSize: 2 });
    expect(() => s.loadStateDict(new ExponentialLR(opt(), { gamma: 0.9 }).stateDict())).toThrow(
      /StepLR.loadStateDict: the state dict is from "ExponentialLR", this scheduler is StepLR/,
    );
    const one = new StepLR(sgd([0.1]).opt, { stepSize: 2 });
    expect(() => s.loadStateDict(one.stateDict())).toThrow(/baseLrs has 1 entries, the optimizer has 2 param groups/);
    const sd = s.stateDict();
    sd.options.stepSize = -1;
    expect(() => s.loadStateDict(sd)).toThrow(/StepLR.loadStateDict: invalid stepSize = -1/);
  });
});
