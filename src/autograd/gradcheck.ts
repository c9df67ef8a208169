/**
 * Finite-difference gradient checking. The analytic gradient of L = Σ out·r (r a fixed random
 * upstream gradient) is compared with central differences (L(x+ε) − L(x−ε)) / 2ε, with L summed
 * in float64 so the only float32 error left is the op's own rounding.
 */
import { Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { noGrad } from './tape.js';

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  seed?: number;
}

export interface GradcheckResult {
  ok: boolean;
  /** Worst |analytic − numeric| − (atol + rtol·|numeric|) over all checked elements. */
  worst: { input: number; index: number; analytic: number; numeric: number } | null;
  message: string;
}

function weightedSum(out: Tensor, r: Float64Array): number {
  const d = out.data;
  let s = 0;
  for (let i = 0; i < d.length; i++) s += d[i]! * r[i]!;
  return s;
}

export function gradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], opts: GradcheckOptions = {}): GradcheckResult {
  const eps = opts.eps ?? 1e-2;
  const atol = opts.atol ?? 1e-3;
  const rtol = opts.rtol ?? 1e-2;
  const gen = new Generator(opts.seed ?? 1234);
  for (const x of inputs) x.grad = null;
  const out = fn(...inputs);
  const r = new Float64Array(out.size);
  for (let i = 0; i < r.length; i++) r[i] = gen.uniform(-1, 1);
  const rt = new Tensor(Float32Array.from(r), out.shape);
  out.backward(rt);
  let worst: GradcheckResult['worst'] = null;
  let worstExcess = -Infinity;
  for (let k = 0; k < inputs.length; k++) {
    const x = inputs[k]!;
    if (!x.requiresGrad) continue;
    const d = x.data;
    const analytic = x.grad ? x.grad.data : new Float32Array(x.size);
    for (let i = 0; i < d.length; i++) {
      const orig = d[i]!;
      d[i] = orig + eps;
      const hiX = d[i]!;
      const fp = noGrad(() => weightedSum(fn(...inputs), r));
      d[i] = orig - eps;
      const loX = d[i]!;
      const fm = noGrad(() => weightedSum(fn(...inputs), r));
      d[i] = orig;
      // divide by the step actually taken in float32
      const numeric = (fp - fm) / (hiX - loX);
      const a = analytic[i]!;
      const excess = Math.abs(a - numeric) - (atol + rtol * Math.abs(numeric));
      if (excess > worstExcess) {
        worstExcess = excess;
        worst = { input: k, index: i, analytic: a, numeric };
      }
    }
  }
  const ok = worstExcess <= 0;
  const message = worst
    ? `${ok ? 'ok' : 'MISMATCH'}: worst at input ${worst.input}, element ${worst.index}: analytic ${worst.analytic}, numeric ${worst.numeric}`
    : 'no inputs require grad';
  return { ok, worst, message };
}
