/**
 * summary(model, inputShape): one row per layer with its output shape and parameter count
 * (seed 003 counts AlexNet's parameters by hand; this does it for any model). It runs one
 * forward pass on zeros under noGrad, recording each leaf module's output.
 */
import { noGrad } from '../autograd/tape.js';
import { zeros } from '../tensor/creation.js';
import { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

export interface SummaryRow {
  name: string;
  type: string;
  outputShape: number[] | null;
  params: number;
}

export interface Summary {
  rows: SummaryRow[];
  totalParams: number;
  trainableParams: number;
  inputShape: number[];
  outputShape: number[] | null;
  /** The table as text. */
  text: string;
}

export function summary(model: Module, inputShape: readonly number[]): Summary {
  const rows: SummaryRow[] = [];
  const restore: (() => void)[] = [];
  for (const [name, m] of model.namedModules()) {
    if (name === '' && [...m.children()].length > 0) continue;
    const isLeaf = [...m.children()].length === 0;
    if (!isLeaf) continue;
    const own = m as unknown as { forward: (...a: unknown[]) => unknown };
    const orig = own.forward;
    const row: SummaryRow = { name: name || '(model)', type: m.typeName, outputShape: null, params: m.numParameters() };
    rows.push(row);
    own.forward = function (this: unknown, ...args: unknown[]) {
      const out = orig.apply(m, args);
      if (out instanceof Tensor) row.outputShape = out.shape.slice();
      return out;
    };
    restore.push(() => {
      delete (own as { forward?: unknown }).forward;
    });
  }
  let outShape: number[] | null = null;
  const wasTraining = model.training;
  try {
    model.eval();
    noGrad(() => {
      const out = (model as unknown as { forward: (x: Tensor) => unknown }).forward(zeros(inputShape));
      if (out instanceof Tensor) outShape = out.shape.slice();
    });
  } finally {
    restore.forEach((r) => r());
    model.train(wasTraining);
  }
  const totalParams = model.numParameters();
  const trainableParams = model.numParameters(true);
  const fmtShape = (s: number[] | null) => (s ? `[${s.join(', ')}]` : '-');
  const header = ['Layer', 'Type', 'Output shape', 'Params'];
  const body = rows.map((r) => [r.name, r.type, fmtShape(r.outputShape), r.params.toLocaleString('en-US')]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  const rule = '─'.repeat(widths.reduce((a, b) => a + b + 2, -2));
  const text = [
    `Input: [${inputShape.join(', ')}]`,
    line(header),
    rule,
    ...body.map(line),
    rule,
    `Total params: ${totalParams.toLocaleString('en-US')}`,
    `Trainable params: ${trainableParams.toLocaleString('en-US')}`,
    `Output: ${fmtShape(outShape)}`,
  ].join('\n');
  return { rows, totalParams, trainableParams, inputShape: inputShape.slice(), outputShape: outShape, text };
}
