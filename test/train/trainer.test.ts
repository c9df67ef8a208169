import { existsSync, mkdtempSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { add, losses, mul, nn, noGrad, optim, randn, tensor, zeros, type Tensor } from '../../src/index.js';
import { TensorDataset } from '../../src/data/tensor-dataset.js';
import { Generator, manualSeed } from '../../src/tensor/random.js';
import { defaultTrainConfig, NonFiniteLossError, Trainer, type TrainConfig } from '../../src/train/trainer-node.js';
import { loadCheckpoint } from '../../src/train/checkpoint-node.js';
import { randomImages, TinyAE } from './helpers.js';

const cfg = (over: Partial<TrainConfig> = {}): TrainConfig => ({ ...defaultTrainConfig, epochs: 3, batchSize: 16, lr: 1e-2, seed: 5, ...over });
const weights = (m: TinyAE) => m.parameters().map((p) => Array.from(p.data));
const tmp = () => mkdtempSync(join(tmpdir(), 'aelab-train-'));

const trainImages = () => randomImages(20, 1);

function fresh(): TinyAE {
  manualSeed(1);
  return new TinyAE();
}

describe('Trainer', () => {
  const train = randomImages(100, 1);
  const val = randomImages(30, 2);

  it('lowers the loss and writes metrics and checkpoints each epoch', async () => {
    const dir = tmp();
    const t = new Trainer(fresh(), train, val, cfg(), { runDir: dir });
    const r = await t.fit();
    expect(r.reason).toBe('completed');
    expect(r.history).toHaveLength(3);
    expect(r.history[2]!.train.loss).toBeLessThan(r.history[0]!.train.loss);
    const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[0]!).val.loss).toBeGreaterThan(0);
    expect(existsSync(join(dir, 'checkpoints', 'last', 'model.safetensors'))).toBe(true);
    expect(existsSync(join(dir, 'checkpoints', 'best', 'state.json'))).toBe(true);
  });

  it('resumes exactly: 1 epoch + resume = 3 straight epochs, bit for bit', async () => {
    const straight = fresh();
    await new Trainer(straight, train, val, cfg()).fit();

    const dir = tmp();
    await new Trainer(fresh(), train, val, cfg({ epochs: 1 }), { runDir: dir }).fit();
    manualSeed(999); // the resumed process starts from another global state
    const resumedModel = new TinyAE();
    const t2 = new Trainer(resumedModel, train, val, cfg(), { runDir: dir });
    t2.resume(dir);
    expect(t2.epoch).toBe(1);
    await t2.fit();
    expect(weights(resumedModel)).toEqual(weights(straight));
    expect(readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(3);
  });

  it('stops mid-epoch on request, saves, and resumes to the same weights', async () => {
    const straight = fresh();
    await new Trainer(straight, train, val, cfg({ epochs: 2 })).fit();

    const dir = tmp();
    const t = new Trainer(fresh(), train, val, cfg({ epochs: 2 }), { runDir: dir });
    let steps = 0;
    t.options.reporter = {
      epochStart() {},
      epochEnd() {},
      message() {},
      step() {
        if (++steps === 4) t.requestStop();
      },
    };
    const r = await t.fit();
    expect(r.reason).toBe('interrupted');
    const state = loadCheckpoint(join(dir, 'checkpoints', 'last'), new TinyAE()).state as { step: number };
    expect(state.step).toBe(4);
    const m2 = new TinyAE();
    const t2 = new Trainer(m2, train, val, cfg({ epochs: 2 }), { runDir: dir });
    t2.resume(dir);
    await t2.fit();
    expect(weights(m2)).toEqual(weights(straight));
  });

  it('stops on a non-finite loss with advice, keeping the last good checkpoint', async () => {
    const dir = tmp();
    const m = fresh();
    const t = new Trainer(m, train, val, cfg({ epochs: 3 }), { runDir: dir });
    t.options.reporter = {
      epochStart(epoch) {
        if (epoch === 1) m.lossScale = Infinity;
      },
      epochEnd() {},
      message() {},
      step() {},
    };
    const err = await t.fit().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect((err as Error).message).toMatch(/became (NaN|Infinity) at epoch 2.*last good checkpoint.*smaller learning rate/s);
    const ck = loadCheckpoint(join(dir, 'checkpoints', 'last'), new TinyAE());
    expect((ck.state as { epoch: number }).epoch).toBe(1);
  });

  it('early stopping ends a run that stops improving', async () => {
    const t = new Trainer(fresh(), train, val, cfg({ epochs: 50, lr: 1e-9, earlyStopping: 2 }));
    const r = await t.fit();
    expect(r.reason).toBe('early-stopping');
    expect(r.epochsCompleted).toBeLessThan(50);
  });

  it('rejects invalid configuration with the field name', () => {
    expect(() => new Trainer(fresh(), train, val, cfg({ epochs: 0 }))).toThrow(/epochs must be a positive integer/);
    expect(() => new Trainer(fresh(), train, val, cfg({ lr: -1 }))).toThrow(/lr must be a positive number/);
    expect(() => new Trainer(fresh(), train, val, cfg({ schedule: 'cosin' as never }))).toThrow(/schedule must be one of/);
  });

  it('reads a checkpoint left as <dir>.old by a crash between renames', async () => {
    const dir = tmp();
    const m = fresh();
    await new Trainer(m, train, val, cfg({ epochs: 1 }), { runDir: dir }).fit();
    const last = join(dir, 'checkpoints', 'last');
    renameSync(last, `${last}.old`);
    const m2 = new TinyAE();
    loadCheckpoint(last, m2);
    expect(weights(m2)).toEqual(weights(m));
  });
});

// ---- the fit loop for any Module (issue 15) ---------------------------------------------------

/** y = tanh(x·w) + 0.1·x₀ of 3 inputs: a smooth mapping a small MLP learns quickly. */
function regression(n: number, seed: number): TensorDataset {
  const g = new Generator(seed);
  const x = new Float32Array(n * 3);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 3; j++) x[i * 3 + j] = g.normal();
    y[i] = Math.tanh(0.8 * x[i * 3]! - 0.5 * x[i * 3 + 1]! + 0.3 * x[i * 3 + 2]!) + 0.1 * x[i * 3]!;
  }
  return new TensorDataset(tensor(x, [n, 3]), tensor(y, [n, 1]));
}

function mlp(seed = 1): nn.Sequential {
  const g = new Generator(seed);
  return new nn.Sequential(new nn.Linear(3, 16, { generator: g }), new nn.Tanh(), new nn.Dropout(0.1), new nn.Linear(16, 1, { generator: g }));
}

const params = (m: nn.Module) => m.parameters().map((p) => Array.from(p.data));

describe('Trainer: the fit loop for any Module', () => {
  const data = regression(120, 1);
  const valData = regression(40, 2);

  it('trains an nn.Sequential regression: the loss falls, metrics and validation are logged per epoch', async () => {
    const t = new Trainer(mlp(), { data, validationData: valData, loss: losses.mse, optimizer: 'adam', lr: 1e-2, epochs: 15, batchSize: 16, metrics: ['mae'] });
    const r = await t.fit();
    expect(r.reason).toBe('completed');
    expect(r.history).toHaveLength(15);
    const first = r.history[0]!;
    const last = r.history[14]!;
    expect(Object.keys(first.train)).toEqual(['loss', 'mae']);
    expect(Object.keys(first.val)).toEqual(['loss', 'mae']);
    expect(last.train.loss).toBeLessThan(first.train.loss / 4);
    expect(last.val.loss).toBeLessThan(first.val.loss / 4);
    // the evaluation is the mean over the samples of the loss
    t.model.eval();
    const [x, y] = valData.tensors;
    const direct = noGrad(() => losses.mse((t.model as nn.Sequential).forward(x!), y!).item());
    expect(t.evaluate(valData).loss).toBeCloseTo(direct, 5);
  });

  it('a one-tensor dataset trains an autoencoder (the input is the target), with an optimizer instance', async () => {
    const g = new Generator(4);
    const codes = randn([96, 2], { generator: g });
    const x = noGrad(() => codes.matmul(randn([2, 8], { generator: g })).tanh());
    const model = new nn.Sequential(new nn.Linear(8, 16), new nn.Tanh(), new nn.Linear(16, 2), new nn.Linear(2, 16), new nn.Tanh(), new nn.Linear(16, 8));
    const t = new Trainer(model, { data: new TensorDataset(x), loss: losses.mse, optimizer: new optim.Adam(model.parameters(), { lr: 1e-2 }), epochs: 30, batchSize: 32 });
    const r = await t.fit();
    expect(r.history[29]!.train.loss).toBeLessThan(r.history[0]!.train.loss / 5);
  });

  it('resumes exactly: 2 epochs + resume 2 = 4 straight epochs, bit for bit (dropout draws, Adam state, loader order)', async () => {
    const opts = { data, validationData: valData, loss: losses.mse, lr: 1e-2, batchSize: 16, seed: 3 };
    manualSeed(11);
    const straight = mlp();
    await new Trainer(straight, { ...opts, epochs: 4 }).fit();

    const dir = tmp();
    manualSeed(11);
    await new Trainer(mlp(), { ...opts, epochs: 2, runDir: dir }).fit();
    manualSeed(12345); // another process, another global state
    const resumed = mlp(77);
    const t = new Trainer(resumed, { ...opts, epochs: 4, runDir: dir });
    t.resume(dir);
    expect(t.epoch).toBe(2);
    const r = await t.fit();
    expect(params(resumed)).toEqual(params(straight));
    expect(r.history.map((h) => h.epoch)).toEqual([0, 1, 2, 3]);
  });

  it('stops mid-epoch on request and resumes to the same weights', async () => {
    const opts = { data, loss: losses.mse, lr: 1e-2, batchSize: 16, seed: 4, epochs: 2 };
    manualSeed(5);
    const straight = mlp();
    await new Trainer(straight, opts).fit();

    const dir = tmp();
    manualSeed(5);
    const stopAt = { onStep: (i: { step: number }, tr: Trainer) => i.step === 5 && tr.requestStop() };
    const r = await new Trainer(mlp(), { ...opts, runDir: dir, callbacks: [stopAt] }).fit();
    expect(r.reason).toBe('interrupted');
    const m2 = mlp(9);
    const t2 = new Trainer(m2, { ...opts, runDir: dir });
    t2.resume(dir);
    expect(t2.step).toBe(5);
    await t2.fit();
    expect(params(m2)).toEqual(params(straight));
  });

  it('a step function of your own: the loss with values to log, validation through the same step', async () => {
    const model = mlp();
    const t = new Trainer(model, {
      data,
      validationData: valData,
      step: ({ x, y }) => {
        const out = model.forward(x);
        const mse = losses.mse(out, y!);
        const l1 = losses.l1(out, y!);
        return { loss: add(mse, mul(l1, 0.1)), logs: { mse: mse.item() }, output: out, target: y! };
      },
      metrics: { maxErr: (o, y) => Math.max(...Array.from(o.sub(y).abs().data)) },
      epochs: 2,
      batchSize: 30,
      lr: 1e-2,
    });
    const r = await t.fit();
    expect(Object.keys(r.history[1]!.train)).toEqual(['loss', 'mse', 'maxErr']);
    expect(Object.keys(r.history[1]!.val)).toEqual(['loss', 'mse', 'maxErr']);
    expect(r.history[1]!.train.loss).toBeGreaterThan(r.history[1]!.train.mse);
  });

  it('a diverging fit names the option to change', async () => {
    const t = new Trainer(mlp(), { data, loss: (o, y) => mul(losses.mse(o, y), Infinity), epochs: 1 });
    const err = await t.fit().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect((err as Error).message).toMatch(/'loss' became (Infinity|NaN) at epoch 1, step 1\. .*gradient clipping \(clipNorm: 1\)/);
  });

  it('a bad configuration gives a clear error', () => {
    const m = mlp();
    const bad = (o: Record<string, unknown>) => () => new Trainer(m, { data, loss: losses.mse, ...o } as never);
    expect(() => new Trainer(m, trainImages(), null, cfg())).toThrow(/Trainer: got Sequential, which is not one of aelab's family models\. To train your own Module pass the fit options/);
    expect(() => new Trainer(m, data as never, null, cfg())).toThrow(/Trainer: got a TensorDataset as its second argument/);
    expect(() => new Trainer(m, { data } as never)).toThrow(/give a loss \(e\.g\. loss: losses\.mse\) or a step function/);
    expect(bad({ step: () => zeros([1]) })).toThrow(/give either loss or step, not both/);
    expect(bad({ epoch: 3 })).toThrow(/Trainer: unknown option 'epoch' \(known: data, /);
    expect(bad({ data: tensor([[1, 2, 3]]) })).toThrow(/data must be a TensorDataset/);
    expect(bad({ validationData: new TensorDataset(zeros([4, 2]), zeros([4, 1])) })).toThrow(/validationData samples have shapes \[\[2\],\[1\]\], the training data's have \[\[3\],\[1\]\]/);
    expect(bad({ optimizer: new optim.SGD(mlp(2).parameters(), { lr: 0.1 }) })).toThrow(/the optimizer \(SGD\) updates none of Sequential's parameters/);
    expect(bad({ optimizer: new optim.SGD(m.parameters(), { lr: 0.1 }), lr: 0.5 })).toThrow(/lr belongs to the optimizer you passed/);
    expect(bad({ optimizer: 'adamm' })).toThrow(/optimizer must be an optimizer or one of sgd, .*got "adamm"/);
    expect(bad({ epochs: 0 })).toThrow(/epochs must be a positive integer, got 0/);
    expect(bad({ metrics: ['rmse'] })).toThrow(/unknown metric "rmse" \(built in: mse, mae, accuracy/);
    expect(() => new Trainer(new nn.Sequential(new nn.ReLU()), { data, loss: losses.mse })).toThrow(/Sequential has no parameters to train/);
    expect(() => new Trainer(m, { data: new TensorDataset(zeros([4, 3]), zeros([4, 1]), zeros([4])), loss: losses.mse })).toThrow(
      /the data has 3 tensors per sample; with more than \(input, target\) give a step function/,
    );
  });

  it('a loss that is not a scalar, or a forward that returns no tensor, is named at the first step', async () => {
    await expect(new Trainer(mlp(), { data, loss: (o, y) => o.sub(y), epochs: 1, batchSize: 16 }).fit()).rejects.toThrow(/the loss must be a one-element tensor, got shape \[16, 1\]/);
    class Two extends nn.Module {
      lin = new nn.Linear(3, 1);
      forward(x: Tensor) {
        return { a: this.lin.forward(x) };
      }
    }
    await expect(new Trainer(new Two(), { data, loss: losses.mse, epochs: 1 }).fit()).rejects.toThrow(/Two\.forward returned an object, not a Tensor; for a model with several outputs give a step function/);
  });
});
