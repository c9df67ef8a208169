/**
 * ROC curve and exact AUC for anomaly detection: higher score = more likely positive (label 1).
 *
 * AUC is the Mann–Whitney statistic: the probability that a random positive scores above a
 * random negative, counting ties as one half:
 *
 *   AUC = (R₊ − n₊(n₊ + 1)/2) / (n₊ · n₋)
 *
 * where R₊ is the sum of the positives' ranks among all scores in ascending order, tied scores
 * sharing the mean of their ranks. This equals the trapezoidal area under the ROC curve drawn
 * with one point per distinct threshold (a tie group moves diagonally), which is what
 * `points` holds, so the curve and the number agree. Same as scikit-learn's roc_auc_score.
 */

export interface RocPoint {
  fpr: number;
  tpr: number;
  /** Scores ≥ threshold are called positive; +Infinity for the (0, 0) start. */
  threshold: number;
}

export interface RocResult {
  points: RocPoint[];
  auc: number;
}

export function rocCurve(
  scores: ArrayLike<number>,
  labels: ArrayLike<number | boolean>,
): RocResult {
  const n = scores.length;
  if (labels.length !== n) {
    throw new Error(`rocCurve: ${n} scores but ${labels.length} labels`);
  }
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const s = scores[i]!;
    if (Number.isNaN(s)) throw new Error(`rocCurve: score ${i} is NaN`);
    const l = Number(labels[i]);
    if (l !== 0 && l !== 1)
      throw new Error(`rocCurve: label ${i} is ${String(labels[i])}, not 0 or 1`);
    pos += l;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) {
    throw new Error(
      `rocCurve: AUC needs both classes, got ${pos} positive and ${neg} negative labels`,
    );
  }

  // Descending by score: walking down lowers the threshold one tie group at a time.
  // (A comparator, not a subtraction, so ±Infinity scores sort correctly.)
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => {
    const x = scores[a]!;
    const y = scores[b]!;
    return x > y ? -1 : x < y ? 1 : 0;
  });
  const points: RocPoint[] = [{ fpr: 0, tpr: 0, threshold: Infinity }];
  let tp = 0;
  let fp = 0;
  // Rank sum of positives in ascending order: the element at descending index k has ascending
  // rank n − k; a tie group over descending indices [i, j) gets the mean rank n − (i + j − 1)/2.
  let rankSum = 0;
  for (let i = 0; i < n;) {
    const s = scores[order[i]!]!;
    let j = i;
    let groupPos = 0;
    while (j < n && scores[order[j]!]! === s) {
      groupPos += Number(labels[order[j]!]);
      j++;
    }
    rankSum += groupPos * (n - (i + j - 1) / 2);
    tp += groupPos;
    fp += j - i - groupPos;
    points.push({ fpr: fp / neg, tpr: tp / pos, threshold: s });
    i = j;
  }
  const auc = (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
  return { points, auc };
}
