/**
 * The Trainer's storage: the loop of trainer.ts (what the browser entry exports) keeps its run in
 * memory, Node's Trainer writes folders, and both hold the same bytes for the same run.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { fromJson, toJson } from '../../src/train/checkpoint.js';
import { MemoryStorage, joinPath } from '../../src/train/storage.js';
import { Trainer as NodeTrainer } from '../../src/train/trainer-node.js';
import { defaultTrainConfig, Trainer, type TrainConfig } from '../../src/train/trainer.js';
import { manualSeed } from '../../src/tensor/random.js';
import { randomImages, TinyAE } from './helpers.js';

const cfg = (over: Partial<TrainConfig> = {}): TrainConfig => ({ ...defaultTrainConfig, epochs: 3, batchSize: 16, lr: 1e-2, seed: 5, ...over });
const weights = (m: TinyAE) => m.parameters().map((p) => Array.from(p.data));

function fresh(): TinyAE {
  manualSeed(1);
  return new TinyAE();
}

describe('joinPath', () => {
  it("joins and normalises as Node's path.posix.join", () => {
    const cases = [
      ['a', 'b'], ['a/', 'b'], ['./a', 'last'], ['/x/../y', 'z'], ['a/b/..', 'c'], ['..', 'a'], ['../..', 'a'], ['a', '..', '..'],
      ['/', '..'], ['', ''], ['a', './b/'], ['/a//b', 'c/'], ['.'], ['a/..'], ['a/../'], ['/'], ['runs/x', 'checkpoints', 'last'],
    ];
    for (const c of cases) expect(joinPath(...c), JSON.stringify(c)).toBe(posix.join(...c));
  });
});

describe("toJson / fromJson without Node's Buffer (a browser)", () => {
  it('write the same text and read back the same Float32Arrays', () => {
    const v = { m: Float32Array.from({ length: 70_000 }, (_, i) => Math.sin(i) * 1e3), odd: new Float32Array([1.5, -0, NaN]), n: Infinity };
    const withBuffer = toJson(v);
    vi.stubGlobal('Buffer', undefined);
    try {
      expect(toJson(v)).toBe(withBuffer);
      const back = fromJson<typeof v>(withBuffer, 'x.json');
      expect(back.m).toEqual(v.m);
      expect(Array.from(back.odd)).toEqual([1.5, -0, NaN]);
      expect(back.n).toBe(Infinity);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});

describe('Trainer storage', () => {
  const train = randomImages(100, 1);
  const val = randomImages(30, 2);

  it('the loop keeps runDir in memory: metrics and checkpoints, nothing on disk', async () => {
    const runDir = join(tmpdir(), `aelab-memory-run-${process.pid}-${Date.now()}`);
    const t = new Trainer(fresh(), train, val, cfg(), { runDir });
    await t.fit();
    expect(existsSync(runDir)).toBe(false);
    expect(t.storage).toBeInstanceOf(MemoryStorage);
    const mem = t.storage as MemoryStorage;
    expect([...mem.checkpoints.keys()].sort()).toEqual([join(runDir, 'checkpoints', 'best'), join(runDir, 'checkpoints', 'last')]);
    const lines = mem.readText(join(runDir, 'metrics.jsonl'))!.trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { epoch: number }).epoch)).toEqual([0, 1, 2]);
  });

  it('in memory and on disk hold the same bytes, and a run resumed from memory ends bit for bit as a straight one', async () => {
    const straight = fresh();
    await new Trainer(straight, train, val, cfg()).fit();

    const dir = mkdtempSync(join(tmpdir(), 'aelab-storage-'));
    await new NodeTrainer(fresh(), train, val, cfg({ epochs: 2 }), { runDir: dir }).fit();
    const storage = new MemoryStorage();
    await new Trainer(fresh(), train, val, cfg({ epochs: 2 }), { runDir: 'run', storage }).fit();
    const last = storage.readCheckpoint('run/checkpoints/last').files;
    expect(last.model).toEqual(new Uint8Array(readFileSync(join(dir, 'checkpoints', 'last', 'model.safetensors'))));
    expect(last.optimizer).toBe(readFileSync(join(dir, 'checkpoints', 'last', 'optimizer.json'), 'utf8'));
    expect(last.state).toBe(readFileSync(join(dir, 'checkpoints', 'last', 'state.json'), 'utf8'));
    expect(storage.readText('run/metrics.jsonl')!.split('\n').length).toBe(readFileSync(join(dir, 'metrics.jsonl'), 'utf8').split('\n').length);

    manualSeed(999); // another page, another global state
    const resumed = new TinyAE();
    const t = new Trainer(resumed, train, val, cfg(), { runDir: 'run', storage });
    t.resume('run');
    expect(t.epoch).toBe(2);
    await t.fit();
    expect(weights(resumed)).toEqual(weights(straight));
  });

  it('a missing checkpoint in memory is named in the error', () => {
    const t = new Trainer(fresh(), train, val, cfg(), { runDir: 'run' });
    expect(() => t.resume('run')).toThrow('no checkpoint at run/checkpoints/last (missing model.safetensors)');
  });
});
