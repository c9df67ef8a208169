/** The trainer's model side: the accuracy metric and telling family models from other modules. */
import { describe, expect, it } from 'vitest';
import { nn, tensor } from '../../src/index.js';
import { accuracy, isFamilyModel } from '../../src/train/tasks.js';
import { TinyAE } from './helpers.js';

describe('accuracy', () => {
  const scores = tensor([
    [0.1, 2, 0.3],
    [5, 1, 0],
    [0, 0, 1],
    [1, 3, 2],
  ]);
  it('compares the arg-max of each row with class indices or one-hot rows', () => {
    expect(accuracy(scores, tensor([1, 0, 2, 2]))).toBe(0.75);
    expect(
      accuracy(
        scores,
        tensor([
          [0, 1, 0],
          [1, 0, 0],
          [0, 1, 0],
          [0, 1, 0],
        ]),
      ),
    ).toBe(0.75);
  });
  it('names shapes that do not fit', () => {
    expect(() => accuracy(tensor([1, 2]), tensor([0]))).toThrow(/accuracy: expected class scores \(N, C\), got \[2\]/);
    expect(() => accuracy(scores, tensor([1, 0]))).toThrow(/accuracy: target \[2\] is neither \(N\) class indices nor \(N, 3\) rows/);
  });
});

describe('isFamilyModel', () => {
  it('is true for a model that trains itself step by step, false for other modules', () => {
    expect(isFamilyModel(new TinyAE())).toBe(true);
    expect(isFamilyModel(new nn.Sequential(new nn.Linear(1, 1)))).toBe(false);
  });
});
