// The aelab side of a training row, shared by bench/worker.mjs (Node) and the browser bundle
// (bench/browser.mjs). Plain ESM with no Node imports: it receives the library's namespaces.

export const BATCH = 128;
export const LR = 1e-3;

/** The two reference autoencoders, exactly as torch_ref.py builds them. */
export function aelabModel(nn, which) {
  if (which === 'mlp')
    return new nn.Sequential(
      new nn.Linear(784, 512),
      new nn.ReLU(),
      new nn.Linear(512, 256),
      new nn.ReLU(),
      new nn.Linear(256, 32),
      new nn.Linear(32, 256),
      new nn.ReLU(),
      new nn.Linear(256, 512),
      new nn.ReLU(),
      new nn.Linear(512, 784),
      new nn.Sigmoid(),
    );
  if (which === 'conv')
    return new nn.Sequential(
      new nn.Conv2d(1, 32, 3, { stride: 2, padding: 1 }),
      new nn.ReLU(),
      new nn.Conv2d(32, 64, 3, { stride: 2, padding: 1 }),
      new nn.ReLU(),
      new nn.Flatten(),
      new nn.Linear(3136, 16),
      new nn.Linear(16, 3136),
      new nn.ReLU(),
      new nn.Unflatten(1, [64, 7, 7]),
      new nn.ConvTranspose2d(64, 32, 3, { stride: 2, padding: 1, outputPadding: 1 }),
      new nn.ReLU(),
      new nn.ConvTranspose2d(32, 1, 3, { stride: 2, padding: 1, outputPadding: 1 }),
      new nn.Sigmoid(),
    );
  throw new Error(`unknown model '${which}'`);
}

/**
 * torch.optim.Adam(lr) — aelab's optim when present, otherwise a bench-local one over the backend's
 * fused adamStep kernel (the same update), so the bench ran while src/optim was being written.
 */
export function makeAdam(optim, backend, params) {
  if (optim?.Adam) return { opt: new optim.Adam(params, { lr: LR }), note: null };
  const st = params.map((p) => ({ m: backend.alloc(p.size), v: backend.alloc(p.size) }));
  let step = 0;
  const opt = {
    zeroGrad() {
      for (const p of params)
        if (p.grad) {
          const g = p.grad;
          p.grad = null;
          g.dispose();
        }
    },
    step() {
      step++;
      params.forEach((p, i) => {
        if (!p.grad) return;
        // (backend.fused: the kernel table's optional part; older builds had the step at the top level)
        (backend.fused ?? backend).adamStep(p.data, p.grad.data, st[i].m, st[i].v, null, {
          lr: LR,
          beta1: 0.9,
          beta2: 0.999,
          eps: 1e-8,
          weightDecay: 0,
          decoupled: false,
          amsgrad: false,
          step,
        });
      });
    },
  };
  return { opt, note: 'aelab optim not exported: bench-local Adam over backend.adamStep' };
}

/**
 * Warm-up then timed steps, with a time budget so a very slow row (TF.js cpu on the conv AE takes
 * minutes per step) ends: warm-up stops early once it has used maxSeconds/2 (after ≥ 1 step), the
 * timed phase once it has used maxSeconds (after ≥ 1 step). Normal rows never reach either cap.
 */
export class Budget {
  constructor(c) {
    this.warmup = c.warmup;
    this.steps = c.steps;
    this.max = c.maxSeconds * 1000;
    this.warmDone = 0;
    this.warmMs = 0;
    this.timedDone = 0;
    this.timedMs = 0;
  }
  more() {
    return this.timedDone < this.steps && !(this.timedDone >= 1 && this.timedMs > this.max);
  }
  /** Books one step; true when it belongs to the timed phase. */
  record(ms) {
    if (this.warmDone < this.warmup && !(this.warmDone >= 1 && this.warmMs > this.max / 2)) {
      this.warmDone++;
      this.warmMs += ms;
      if (this.warmMs > this.max / 2) this.warmup = this.warmDone;
      return false;
    }
    this.timedDone++;
    this.timedMs += ms;
    return true;
  }
}

export function median(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Trains `cfg.model` on `images` ({ data: Float32Array(n·784), n }) with aelab namespace `A`
 * (tensor, tidy, losses, nn, optim, getBackend) on its current backend. `beat(i, ms)` is called
 * after every step. Returns the timing and loss fields of a result row.
 */
export function trainAelab(A, cfg, images, beat = () => {}) {
  const t3 = performance.now();
  const model = aelabModel(A.nn, cfg.model);
  const params = model.parameters();
  const { opt, note } = makeAdam(A.optim, A.getBackend(), params);
  const buildMs = performance.now() - t3;
  const shape = cfg.model === 'conv' ? [BATCH, 1, 28, 28] : [BATCH, 784];
  const nb = Math.floor(images.n / BATCH);
  const batch = (i) => images.data.subarray((i % nb) * BATCH * 784, ((i % nb) + 1) * BATCH * 784);

  const step = (i) => {
    opt.zeroGrad();
    const loss = A.tidy(() => {
      const x = A.tensor(batch(i), shape);
      const y = model.forward(x);
      const l = A.losses.bce(y, x);
      l.backward();
      return l.item();
    });
    opt.step();
    return loss;
  };

  const losses = [];
  const stepMs = [];
  let timedMs = 0;
  let firstStepEnd = NaN;
  let firstStepMs = NaN;
  const budget = new Budget(cfg);
  for (let i = 0; budget.more(); i++) {
    const s = performance.now();
    losses.push(step(i));
    const e = performance.now();
    beat(i, e - s);
    if (i === 0) {
      firstStepEnd = e;
      firstStepMs = e - s;
    }
    if (budget.record(e - s)) {
      stepMs.push(e - s);
      timedMs += e - s;
    }
  }
  const b = A.getBackend();
  return {
    backend: b.name,
    threads: b.threads ?? cfg.threads ?? 1,
    model: cfg.model,
    warmupSteps: budget.warmDone,
    timedSteps: stepMs.length,
    samplesPerSec: (stepMs.length * BATCH * 1000) / timedMs,
    medianStepMs: median(stepMs),
    losses,
    lossFirst: losses[0],
    lossLast: losses[losses.length - 1],
    notes: [note].filter(Boolean),
    buildMs,
    firstStepMs,
    firstStepEnd,
  };
}
