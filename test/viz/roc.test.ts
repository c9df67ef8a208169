import { describe, expect, it } from 'vitest';
import { rocCurve } from '../../src/viz/roc.js';

/** AUC by definition: P(score₊ > score₋) + ½ P(score₊ = score₋), over all pairs. */
function pairwiseAuc(scores: number[], labels: number[]): number {
  let s = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      if (scores[i]! > scores[j]!) s += 1;
      else if (scores[i] === scores[j]) s += 0.5;
    }
  }
  return s / pairs;
}

function trapezoid(points: { fpr: number; tpr: number }[]): number {
  let a = 0;
  for (let i = 1; i < points.length; i++) {
    a += ((points[i]!.fpr - points[i - 1]!.fpr) * (points[i]!.tpr + points[i - 1]!.tpr)) / 2;
  }
  return a;
}

describe('rocCurve', () => {
  it('gives 1 for a perfect ranking, 0 for a reversed one, 0.5 for all ties', () => {
    expect(rocCurve([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]).auc).toBe(1);
    expect(rocCurve([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]).auc).toBe(0);
    const ties = rocCurve([3, 3, 3, 3], [0, 1, 0, 1]);
    expect(ties.auc).toBe(0.5);
    // One tie group moves diagonally from (0, 0) to (1, 1).
    expect(ties.points).toEqual([
      { fpr: 0, tpr: 0, threshold: Infinity },
      { fpr: 1, tpr: 1, threshold: 3 },
    ]);
  });

  it('handles a small case with ties by hand', () => {
    // Positives 0.8, 0.4; negatives 0.4, 0.1. Pairs: (0.8>0.4) 1, (0.8>0.1) 1, (0.4=0.4) ½,
    // (0.4>0.1) 1 → 3.5 / 4.
    const r = rocCurve(new Float32Array([0.8, 0.4, 0.4, 0.1]), [1, 1, 0, 0]);
    expect(r.auc).toBe(0.875);
    expect(r.points.map((p) => [p.fpr, p.tpr])).toEqual([
      [0, 0],
      [0, 0.5],
      [0.5, 1],
      [1, 1],
    ]);
    expect(r.points.map((p) => p.threshold)).toEqual([Infinity, 0.8, 0.4, 0.1].map(Math.fround));
  });

  it('matches the pairwise definition and the curve area on random data with many ties', () => {
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let trial = 0; trial < 20; trial++) {
      const n = 50 + trial * 13;
      const labels = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0) as 0 | 1);
      // Rounded scores → plenty of ties across classes.
      const scores = labels.map((y) => Math.round((rand() + 0.4 * y) * 10) / 10);
      const r = rocCurve(scores, labels);
      expect(r.auc).toBeCloseTo(pairwiseAuc(scores, labels), 12);
      expect(trapezoid(r.points)).toBeCloseTo(r.auc, 12);
      expect(r.points.at(-1)).toMatchObject({ fpr: 1, tpr: 1 });
      for (let i = 1; i < r.points.length; i++) {
        expect(r.points[i]!.fpr).toBeGreaterThanOrEqual(r.points[i - 1]!.fpr);
        expect(r.points[i]!.tpr).toBeGreaterThanOrEqual(r.points[i - 1]!.tpr);
      }
    }
  });

  it('accepts boolean labels and infinite scores', () => {
    expect(rocCurve([-Infinity, Infinity, 0], [false, true, false]).auc).toBe(1);
  });

  it('rejects inputs where AUC is undefined or malformed', () => {
    expect(() => rocCurve([1, 2], [1])).toThrow('rocCurve: 2 scores but 1 labels');
    expect(() => rocCurve([1, 2], [1, 1])).toThrow(
      'rocCurve: AUC needs both classes, got 2 positive and 0 negative labels',
    );
    expect(() => rocCurve([1, 2], [0, 2])).toThrow('rocCurve: label 1 is 2, not 0 or 1');
    expect(() => rocCurve([1, NaN], [0, 1])).toThrow('rocCurve: score 1 is NaN');
  });
});
