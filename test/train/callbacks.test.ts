/** Callbacks of the fit loop: their order and arguments, EarlyStopping, ModelCheckpoint and exact resume with them. */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { losses, nn, tensor } from '../../src/index.js';
import { TensorDataset } from '../../src/data/tensor-dataset.js';
import { Generator, manualSeed } from '../../src/tensor/random.js';
import { EarlyStopping, ModelCheckpoint, type Callback } from '../../src/train/callbacks.js';
import { loadCheckpoint } from '../../src/train/checkpoint-node.js';
import { Trainer, type FitOptions } from '../../src/train/trainer-node.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'aelab-cb-'));

function data(n: number, seed: number): TensorDataset {
  const g = new Generator(seed);
  const x = Float32Array.from({ length: n * 2 }, () => g.normal());
  const y = Float32Array.from({ length: n }, (_, i) => x[2 * i]! - 0.5 * x[2 * i + 1]!);
  return new TensorDataset(tensor(x, [n, 2]), tensor(y, [n, 1]));
}

const model = (seed = 1) => {
  const g = new Generator(seed);
  return new nn.Sequential(
    new nn.Linear(2, 8, { generator: g }),
    new nn.Tanh(),
    new nn.Dropout(0.2),
    new nn.Linear(8, 1, { generator: g }),
  );
};
const weights = (m: nn.Module) => m.parameters().map((p) => Array.from(p.data));

const base = (): FitOptions => ({ data: data(10, 1), validationData: data(6, 2), loss: losses.mse, batchSize: 4, lr: 1e-2, seed: 2 });

describe('callback order and arguments', () => {
  it('onTrainBegin, then per epoch onEpochBegin, onStep per batch, onEpochEnd, onCheckpoint; then onTrainEnd', async () => {
    const calls: string[] = [];
    const rec: Callback = {
      onTrainBegin: () => void calls.push('trainBegin'),
      onEpochBegin: (e) => void calls.push(`epochBegin ${e}`),
      onStep: (i) => void calls.push(`step e${i.epoch} s${i.step} b${i.batch}/${i.batches} n${i.size} ${Object.keys(i.logs).join(',')}`),
      onEpochEnd: (e, logs) => void calls.push(`epochEnd ${e} ${Object.keys(logs).join(',')}`),
      onCheckpoint: (e) => void calls.push(`checkpoint ${e}`),
      onTrainEnd: (r) => void calls.push(`trainEnd ${r.reason} ${r.epochsCompleted}`),
    };
    await new Trainer(model(), { ...base(), epochs: 2, metrics: ['mae'], callbacks: [rec] }).fit();
    expect(calls).toEqual([
      'trainBegin',
      'epochBegin 0',
      'step e0 s1 b0/3 n4 loss,mae',
      'step e0 s2 b1/3 n4 loss,mae',
      'step e0 s3 b2/3 n2 loss,mae',
      'epochEnd 0 loss,mae,val_loss,val_mae,lr',
      'checkpoint 0',
      'epochBegin 1',
      'step e1 s4 b0/3 n4 loss,mae',
      'step e1 s5 b1/3 n4 loss,mae',
      'step e1 s6 b2/3 n2 loss,mae',
      'epochEnd 1 loss,mae,val_loss,val_mae,lr',
      'checkpoint 1',
      'trainEnd completed 2',
    ]);
  });

  it('async hooks are awaited before the loop goes on', async () => {
    const order: string[] = [];
    const slow: Callback = {
      async onEpochEnd(e) {
        await new Promise((r) => setTimeout(r, 5));
        order.push(`end ${e}`);
      },
      onEpochBegin: (e) => void order.push(`begin ${e}`),
    };
    await new Trainer(model(), { ...base(), epochs: 2, callbacks: [slow] }).fit();
    expect(order).toEqual(['begin 0', 'end 0', 'begin 1', 'end 1']);
  });
});

describe('EarlyStopping', () => {
  /** A metric that follows a script per epoch (the same value for every batch of an epoch). */
  const scripted = (values: number[]) => {
    let epoch = 0;
    const onEpochBegin = (e: number) => void (epoch = e);
    return { metric: () => values[epoch]!, cb: { onEpochBegin } };
  };

  it('stops after `patience` epochs in a row without improvement, with reason early-stopping', async () => {
    const s = scripted([5, 4, 4.5, 4.2, 3, 1]);
    const es = new EarlyStopping({ monitor: 'val_score', patience: 2 });
    const t = new Trainer(model(), { ...base(), epochs: 6, metrics: { score: s.metric }, callbacks: [s.cb, es] });
    const r = await t.fit();
    expect(r.reason).toBe('early-stopping');
    expect(r.epochsCompleted).toBe(4);
    expect([es.bestEpoch, es.stoppedEpoch, es.bestValue]).toEqual([1, 3, 4]);
  });

  it("mode 'max' for accuracy-like logs, minDelta, and restoreBestWeights puts back the best epoch's weights", async () => {
    const s = scripted([0.5, 0.9, 0.91, 0.6, 0.95]);
    const snapshots: number[][][] = [];
    const keep: Callback = { onEpochEnd: (_e, _l, tr) => void snapshots.push(weights(tr.model)) };
    const es = new EarlyStopping({ monitor: 'acc', patience: 2, minDelta: 0.05, restoreBestWeights: true });
    const t = new Trainer(model(), { ...base(), epochs: 5, metrics: { acc: s.metric }, callbacks: [s.cb, keep, es] });
    const r = await t.fit();
    // 0.91 is not 0.05 better than 0.9: epochs 2 and 3 do not improve, epoch 3 stops
    expect(r.epochsCompleted).toBe(4);
    expect(es.bestEpoch).toBe(1);
    expect(weights(t.model)).toEqual(snapshots[1]);
    expect(weights(t.model)).not.toEqual(snapshots[3]);
  });

  it('a monitor missing from the logs is named with the logs there are', async () => {
    const t = new Trainer(model(), { ...base(), validationData: null, epochs: 2, callbacks: [new EarlyStopping()] });
    await expect(t.fit()).rejects.toThrow(
      /EarlyStopping: monitor 'val_loss' is not among this epoch's logs \(loss, lr\) \(give the trainer validationData/,
    );
  });
});

describe('ModelCheckpoint and exact resume', () => {
  it('writes last every epoch and best on improvement; resumeFrom continues bit for bit, callback states included', async () => {
    const opts = { ...base(), epochs: 4 };
    manualSeed(21);
    const straightEs = new EarlyStopping({ patience: 10 });
    const straight = model();
    await new Trainer(straight, { ...opts, callbacks: [straightEs] }).fit();

    const dir = tmp();
    manualSeed(21);
    const es1 = new EarlyStopping({ patience: 10 });
    const mc = new ModelCheckpoint(dir);
    await new Trainer(model(), { ...opts, epochs: 2, callbacks: [es1, mc] }).fit();
    expect(existsSync(join(mc.lastDir, 'model.safetensors'))).toBe(true);
    expect(existsSync(join(mc.bestDir, 'optimizer.json'))).toBe(true);
    const saved = loadCheckpoint(mc.lastDir, model()).state as { epoch: number; callbacks: { type: string }[] };
    expect(saved.epoch).toBe(2);
    expect(saved.callbacks.map((c) => c.type)).toEqual(['EarlyStopping', 'ModelCheckpoint']);

    manualSeed(4242);
    const m2 = model(99);
    const es2 = new EarlyStopping({ patience: 10 });
    const t2 = new Trainer(m2, { ...opts, callbacks: [es2, new ModelCheckpoint(dir)] });
    t2.resumeFrom(mc.lastDir);
    expect([es2.bestEpoch, es2.wait]).toEqual([es1.bestEpoch, es1.wait]);
    await t2.fit();
    expect(weights(m2)).toEqual(weights(straight));
    expect([es2.bestEpoch, es2.bestValue]).toEqual([straightEs.bestEpoch, straightEs.bestValue]);
  });

  it('saveBestOnly writes only best; resuming with other callbacks is refused by name', async () => {
    const dir = tmp();
    const mc = new ModelCheckpoint(dir, { saveBestOnly: true, monitor: 'loss' });
    await new Trainer(model(), { ...base(), epochs: 1, callbacks: [mc] }).fit();
    expect(existsSync(mc.bestDir)).toBe(true);
    expect(existsSync(mc.lastDir)).toBe(false);
    const t = new Trainer(model(), { ...base(), epochs: 2, callbacks: [new EarlyStopping()] });
    expect(() => t.resumeFrom(mc.bestDir)).toThrow(
      /the checkpoint has the state of callback 0 \(ModelCheckpoint\), but this trainer's callback 0 is EarlyStopping/,
    );
  });
});
