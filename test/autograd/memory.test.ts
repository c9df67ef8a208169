/**
 * Memory stays flat over long training: 10,000 steps of a 16-8-16 MLP autoencoder, once relying
 * on the garbage collector (the graph must be released after each backward) and once with every
 * step in tidy() for 5,000 steps (the live-tensor count must not move). The heap and the
 * typed-array memory are measured after forced collections at step 3,000 (after the JIT has warmed
 * up: optimised code and feedback add a few MB of heap in the first thousands of steps) and at the end.
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { getBackend, Generator, keep, liveTensorCount, losses, nn, noGrad, optim, randn, sigmoid, tidy, type Tensor } from '../../src/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const MB = 1024 * 1024;
/** Allowed growth between the baseline step and the last step. */
const BASELINE = 3000;
const BOUND = 5 * MB;
/** The tidy run only has to show a flat live count; half the steps keep the suite fast. */
const STEPS_TIDY = 5000;

const tick = () => new Promise<void>((r) => setImmediate(r));

/**
 * Heap, typed-array memory and backend (wasm) memory after forced collections. The event loop
 * turns between collections so FinalizationRegistry callbacks — which return the wasm memory of
 * collected tensors — get to run, as they do in any real program between steps.
 */
async function measure(): Promise<{ heap: number; buffers: number; backend: number }> {
  // Collect until the heap settles: finalizers run in later turns, and what they release is only
  // collectable after them, so a backlog of thousands of collected tensors takes several rounds.
  let prev = Infinity;
  for (let i = 0; i < 20; i++) {
    gc();
    await tick();
    const h = process.memoryUsage().heapUsed;
    if (i >= 2 && Math.abs(prev - h) < 64 * 1024) break;
    prev = h;
  }
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers, backend: getBackend().allocatedBytes() };
}

class TinyAE extends nn.Module {
  enc: nn.Linear;
  dec: nn.Linear;
  constructor(g: Generator) {
    super();
    this.enc = this.registerModule('enc', new nn.Linear(16, 8, { generator: g }));
    this.dec = this.registerModule('dec', new nn.Linear(8, 16, { generator: g }));
  }
  forward(x: Tensor): Tensor {
    return sigmoid(this.dec.forward(this.enc.forward(x).relu()));
  }
}

function data(g: Generator): Tensor[] {
  return Array.from({ length: 8 }, () => sigmoid(randn([32, 16], { generator: g })));
}

describe('memory over 10,000 training steps', () => {
  it('without tidy: the graph is released after backward and the heap does not grow', async () => {
    const g = new Generator(1);
    const model = new TinyAE(g);
    const batches = data(g);
    const params = model.parameters();
    let first = 0;
    let last = 0;
    let atBase = { heap: 0, buffers: 0, backend: 0 };
    for (let step = 1; step <= 10_000; step++) {
      // a training loop in a real program lets the event loop turn now and then (the Trainer does
      // every step); without tidy, that is when collected tensors give back wasm memory
      if (step % 50 === 0) await tick();
      const x = batches[step % batches.length]!;
      const loss = losses.mse(model.forward(x), x);
      model.zeroGrad();
      loss.backward();
      noGrad(() => {
        for (const p of params) {
          const pd = p.data;
          const gd = p.grad!.data;
          for (let i = 0; i < pd.length; i++) pd[i] = pd[i]! - 0.5 * gd[i]!;
        }
      });
      if (step === 1) first = loss.item();
      if (step === 10_000) last = loss.item();
      if (step === BASELINE) atBase = await measure();
    }
    const atEnd = await measure();
    expect(last).toBeLessThan(first); // it trained
    expect(atEnd.backend - atBase.backend, `backend memory grew ${((atEnd.backend - atBase.backend) / MB).toFixed(2)} MB`).toBeLessThan(BOUND);
    expect(atEnd.heap - atBase.heap, `heap grew ${((atEnd.heap - atBase.heap) / MB).toFixed(2)} MB`).toBeLessThan(BOUND);
    expect(atEnd.buffers - atBase.buffers, `array buffers grew ${((atEnd.buffers - atBase.buffers) / MB).toFixed(2)} MB`).toBeLessThan(
      BOUND,
    );
  });

  it(`with tidy and optim.SGD (momentum), ${STEPS_TIDY} steps: liveTensorCount is flat and the heap does not grow`, async () => {
    const g = new Generator(2);
    const model = new TinyAE(g);
    const batches = data(g);
    const opt = new optim.SGD(model.parameters(), { lr: 0.3, momentum: 0.9 });
    let live1000 = 0;
    let atBase = { heap: 0, buffers: 0, backend: 0 };
    let first = 0;
    let last = 0;
    for (let step = 1; step <= STEPS_TIDY; step++) {
      const l = tidy(() => {
        const x = batches[step % batches.length]!;
        const loss = losses.mse(model.forward(x), x);
        opt.zeroGrad();
        loss.backward();
        opt.step();
        return loss.item();
      });
      if (step === 1) first = l;
      if (step === STEPS_TIDY) last = l;
      if (step === 1000) {
        live1000 = liveTensorCount();
        atBase = await measure();
      }
    }
    const atEnd = await measure();
    expect(last).toBeLessThan(first);
    // tidy frees every step's memory at once: no event-loop turn needed for the backend memory
    expect(atEnd.backend - atBase.backend, `backend memory grew ${((atEnd.backend - atBase.backend) / MB).toFixed(2)} MB`).toBeLessThan(BOUND);
    expect(liveTensorCount()).toBe(live1000);
    expect(atEnd.heap - atBase.heap, `heap grew ${((atEnd.heap - atBase.heap) / MB).toFixed(2)} MB`).toBeLessThan(BOUND);
    expect(atEnd.buffers - atBase.buffers, `array buffers grew ${((atEnd.buffers - atBase.buffers) / MB).toFixed(2)} MB`).toBeLessThan(
      BOUND,
    );
  });

  it('a step in tidy leaves exactly the parameter gradients alive', () => {
    const g = new Generator(3);
    const model = new TinyAE(g);
    const x = data(g)[0]!;
    const before = liveTensorCount();
    tidy(() => losses.mse(model.forward(x), x).backward());
    expect(liveTensorCount() - before).toBe(model.parameters().length);
    model.zeroGrad();
    expect(liveTensorCount()).toBe(before);
  });
});

describe('backend memory of tensors that leave tidy scopes', () => {
  // Temporaries made and disposed inside a scope are never registered with the garbage
  // collector; tensors that leave every scope are, so dropping them still returns their memory.
  it('returned, kept, and made before a throw: given back after collection; temporaries at once', async () => {
    const b = getBackend();
    const base = await measure();
    const held: Tensor[] = [];
    tidy(() => {
      for (let i = 0; i < 50; i++) randn([1000]);
    });
    expect(b.allocatedBytes(), 'temporaries released when the scope ends').toBe(base.backend);
    for (let i = 0; i < 50; i++) {
      held.push(tidy(() => tidy(() => randn([1000])))); // out of two nested scopes
      tidy(() => {
        held.push(keep(randn([1000])));
      });
      try {
        tidy(() => {
          held.push(randn([1000]));
          throw new Error('boom');
        });
      } catch {
        // the tensor made before the throw stays usable
      }
    }
    expect(held.every((t) => t.data.length === 1000)).toBe(true);
    if (b.name === 'js') return; // plain arrays: the heap itself reclaims them
    expect(b.allocatedBytes() - base.backend).toBeGreaterThanOrEqual(150 * 4000);
    held.length = 0;
    const after = await measure();
    expect(after.backend - base.backend, 'backend bytes still allocated after the tensors were dropped').toBeLessThan(4000);
  });
});
