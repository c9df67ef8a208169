import { existsSync, mkdtempSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { manualSeed } from '../../src/tensor/random.js';
import { defaultTrainConfig, NonFiniteLossError, Trainer, type TrainConfig } from '../../src/train/trainer.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { randomImages, TinyAE } from './helpers.js';

const cfg = (over: Partial<TrainConfig> = {}): TrainConfig => ({ ...defaultTrainConfig, epochs: 3, batchSize: 16, lr: 1e-2, seed: 5, ...over });
const weights = (m: TinyAE) => m.parameters().map((p) => Array.from(p.data));
const tmp = () => mkdtempSync(join(tmpdir(), 'aelab-train-'));

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
