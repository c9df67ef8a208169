/**
 * What a new backend gets once it implements only the primitives (backend.ts): every family
 * model trains. One training step of each model on the js and the wasm backend without their
 * fused kernels (primitivesOnly: ops, rules, optimizers and the data loader fall back to
 * composites of primitives) against the same step with them: the losses and, after one SGD step,
 * every parameter (so every gradient) agree within float rounding. The optimizers' fallbacks are
 * checked step by step against the fused steps in test/optim/optimizers.test.ts, each fused op
 * against its composite in test/ops.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, FullBackend, FusedKernels } from '../../src/kernels/backend.js';
import { jsBackend } from '../../src/kernels/js/index.js';
import { getBackend, primitivesOnly, useBackend } from '../../src/kernels/registry.js';
import { createWasmBackend, type WasmBackend } from '../../src/kernels/wasm/index.js';
import { loadEmbeddedMnist, type ImageDataset } from '../../src/data/index.js';
import {
  buildModel,
  defaultConfig,
  MODEL_KINDS,
  PCA,
  type ModelConfig,
  type ModelKind,
  type OptimizerLike,
} from '../../src/models/index.js';
import { SGD } from '../../src/optim/index.js';
import { tensor } from '../../src/tensor/creation.js';
import { Generator } from '../../src/tensor/random.js';
import { expectClose } from '../helpers/engine.js';

/** Small versions of each kind's default (the defaults' sizes are for real training). */
const OVERRIDES: Record<ModelKind, Record<string, unknown>> = {
  ae: { hidden: [32], latent: 8 },
  'conv-ae': { channels: [4, 8], latent: 8 },
  'sparse-ae': { latent: 16 },
  dae: { hidden: [32], latent: 8 },
  vae: { hidden: [32] },
  cvae: { hidden: [32] },
  aae: { hidden: [32], discriminatorHidden: [16] },
  mlp: { hidden: [32] },
  cnn: { channels: [4, 8], hidden: [16] },
};

const BATCH = 8;
let digits: ImageDataset;

/** A view of b whose fused kernels count their calls. */
function counting(b: FullBackend): { backend: Backend; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const fused = Object.fromEntries(
    Object.entries(b.fused).map(([name, f]) => [
      name,
      (...args: unknown[]) => {
        calls.set(name, (calls.get(name) ?? 0) + 1);
        return (f as (...a: unknown[]) => unknown)(...args);
      },
    ]),
  ) as unknown as FusedKernels;
  const view = Object.create(b) as Backend;
  Object.defineProperty(view, 'fused', { value: fused });
  return { backend: view, calls };
}

interface StepResult {
  parts: Record<string, number>;
  params: [string, Float32Array][];
}

/** Builds the model on backend b (seeded) and runs one training step with SGD on a fixed batch. */
function oneStep(b: Backend, config: ModelConfig): StepResult {
  const saved = getBackend();
  useBackend(b);
  try {
    const model = buildModel(config, { generator: new Generator(1) });
    const optimizers = model.createOptimizers((params) => new SGD(params, { lr: 0.1 }) as unknown as OptimizerLike);
    const x = tensor(digits.images.slice(0, BATCH * 784), model.inputLayout === 'flat' ? [BATCH, 784] : [BATCH, 1, 28, 28]);
    model.train();
    const parts = model.trainStep({ x, y: digits.labels!.slice(0, BATCH) }, optimizers, { generator: new Generator(7), epoch: 0 });
    return { parts, params: model.namedParameters().map(([name, p]) => [name, p.data.slice()]) };
  } finally {
    useBackend(saved);
  }
}

describe.each(['js', 'wasm'] as const)('every family model trains on the %s backend without its fused kernels', (name) => {
  let full: FullBackend;
  beforeAll(async () => {
    digits ??= loadEmbeddedMnist('all');
    full = name === 'js' ? jsBackend : await createWasmBackend({ threads: 1 });
  });
  afterAll(async () => {
    if (name === 'wasm') await (full as WasmBackend).dispose();
  });

  for (const kind of MODEL_KINDS) {
    it(`${kind}: one training step, losses and updated parameters as with the fused kernels`, () => {
      const config = defaultConfig(kind, [1, 28, 28], OVERRIDES[kind] as never);
      const { backend: withFused, calls } = counting(full);
      const want = oneStep(withFused, config);
      // the reference run did use fused kernels (the linear layers' epilogue at least)
      expect(calls.size, `${kind}: fused kernels called with them`).toBeGreaterThan(0);
      const got = oneStep(primitivesOnly(full), config);
      expect(Object.keys(got.parts).sort()).toEqual(Object.keys(want.parts).sort());
      for (const [k, v] of Object.entries(want.parts)) expectClose([got.parts[k]!], [v], 1e-5, `${kind} part '${k}'`);
      expect(got.params.map(([n]) => n)).toEqual(want.params.map(([n]) => n));
      got.params.forEach(([n, data], i) => expectClose(data, want.params[i]![1], 1e-5, `${kind} parameter ${n}`));
    });
  }

  it('pca: fitted on the primitives alone, the same components', () => {
    const n = 200;
    const data = digits.images.slice(0, n * 784);
    const fit = (b: Backend): Float32Array => {
      const saved = getBackend();
      useBackend(b);
      try {
        return Float32Array.from(PCA.fit(data, n, 784, 5).transform(data.subarray(0, 10 * 784), 10));
      } finally {
        useBackend(saved);
      }
    };
    expectClose(fit(primitivesOnly(full)), fit(full), 1e-4, 'pca codes');
  });
});
