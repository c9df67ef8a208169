/** ProgressBar: a live bar on a terminal, one line per epoch elsewhere, and the trainer's messages. */
import { describe, expect, it } from 'vitest';
import { losses, nn, tensor } from '../../src/index.js';
import { TensorDataset } from '../../src/data/tensor-dataset.js';
import { Generator } from '../../src/tensor/random.js';
import { EarlyStopping } from '../../src/train/callbacks.js';
import { ProgressBar } from '../../src/train/progress.js';
import { Trainer } from '../../src/train/trainer-node.js';

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { stream: { isTTY, write: (s: string) => chunks.push(s) }, text: () => chunks.join('') };
}

const g = new Generator(1);
const data = new TensorDataset(
  tensor(
    Float32Array.from({ length: 40 }, () => g.normal()),
    [20, 2],
  ),
  tensor(
    Float32Array.from({ length: 20 }, () => g.normal()),
    [20, 1],
  ),
);
const model = () => new nn.Sequential(new nn.Linear(2, 4), new nn.Tanh(), new nn.Linear(4, 1));

describe('ProgressBar', () => {
  it('writes one line per epoch with the logs when the stream is not a terminal', async () => {
    const s = sink(false);
    await new Trainer(model(), {
      data,
      validationData: data,
      loss: losses.mse,
      epochs: 3,
      batchSize: 8,
      metrics: ['mae'],
      callbacks: [new ProgressBar({ stream: s.stream })],
    }).fit();
    const lines = s.text().trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      /^epoch 1\/3 {2}loss \d\.\d{3}\d* {2}mae \d\.\d+ {2}val_loss \d\.\d+ {2}val_mae \d\.\d+ {2}\(\d+\.\d s, [\d,]+ samples\/s\)$/,
    );
    expect(lines[2]).toMatch(/^epoch 3\/3 /);
  });

  it('draws a live bar with steps and loss on a terminal, and prints messages such as early stopping', async () => {
    const s = sink(true);
    const r = await new Trainer(model(), {
      data,
      loss: losses.mse,
      epochs: 20,
      batchSize: 8,
      lr: 1e-9,
      callbacks: [new ProgressBar({ stream: s.stream }), new EarlyStopping({ monitor: 'loss', patience: 1, minDelta: 1 })],
    }).fit();
    expect(r.reason).toBe('early-stopping');
    const text = s.text();
    expect(text).toMatch(/epoch 1\/20 \[.*\] \d\/3 steps \| loss /);
    expect(text).toMatch(/early stopping: 'loss' has not improved for 1 epoch \(best .* at epoch 1\)/);
  });
});
