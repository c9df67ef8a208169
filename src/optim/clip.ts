/**
 * Gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_ (1.13). Both work
 * in place on `.grad` and skip parameters without one.
 */
import { getBackend } from '../kernels/registry.js';
import type { Backend } from '../kernels/backend.js';
import { Tensor } from '../tensor/tensor.js';

function gradsOf(fn: string, params: Tensor | Iterable<Tensor>): Float32Array[] {
  const list = params instanceof Tensor ? [params] : Array.from(params);
  const out: Float32Array[] = [];
  list.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw new TypeError(`${fn}: params[${i}] is not a Tensor`);
    if (p.grad) out.push(p.grad.data);
  });
  return out;
}

export interface ClipGradNormOptions {
  /** Throw when the total norm is NaN or infinite instead of scaling by it (PyTorch's error_if_nonfinite). */
  errorIfNonfinite?: boolean;
}

/**
 * Scales all gradients together so that their joint norm is at most `maxNorm`, and returns the
 * joint norm before clipping:
 *
 *   total = ‖(‖g₁‖ₚ, ‖g₂‖ₚ, …)‖ₚ = (Σ|g|ᵖ)^(1/p)     (max |g| for p = Infinity)
 *   g ← g · min(1, maxNorm / (total + 1e-6))
 *
 * The 1e-6 is PyTorch's; it keeps a zero gradient finite and makes the clipped norm land just
 * under maxNorm.
 */
export function clipGradNorm(params: Tensor | Iterable<Tensor>, maxNorm: number, normType = 2, opts: ClipGradNormOptions = {}): number {
  if (typeof maxNorm !== 'number' || Number.isNaN(maxNorm) || maxNorm < 0)
    throw new RangeError(`clipGradNorm: invalid maxNorm = ${String(maxNorm)} (must be a number >= 0)`);
  if (typeof normType !== 'number' || !(normType > 0))
    throw new RangeError(`clipGradNorm: invalid normType = ${String(normType)} (must be a number > 0, or Infinity)`);
  const grads = gradsOf('clipGradNorm', params);
  if (grads.length === 0) return 0;
  const backend = getBackend();
  // One scratch for all the tensors' |g|ᵖ (as long as the largest) and one float for each sum.
  const tmp = backend.alloc(Math.max(...grads.map((g) => g.length)), false);
  const out = backend.alloc(1, false);
  let total = 0;
  try {
    if (normType === Infinity) {
      for (const g of grads) {
        const m = partialNorm(backend, g, normType, tmp, out);
        // NaN must win, as torch's max propagates it.
        if (m > total || Number.isNaN(m)) total = m;
        if (Number.isNaN(total)) break;
      }
    } else {
      let acc = 0;
      for (const g of grads) acc += partialNorm(backend, g, normType, tmp, out);
      total = normType === 1 ? acc : normType === 2 ? Math.sqrt(acc) : Math.pow(acc, 1 / normType);
    }
  } finally {
    backend.free(tmp);
    backend.free(out);
  }
  if (opts.errorIfNonfinite && !Number.isFinite(total))
    throw new Error(
      `clipGradNorm: the total norm of order ${normType} of the gradients is ${total}, so they cannot be clipped ` +
        '(pass errorIfNonfinite: false to scale by it anyway)',
    );
  const coef = maxNorm / (total + 1e-6);
  // PyTorch multiplies by the coefficient clamped to 1 (a no-op when no clipping is needed); a
  // NaN total gives NaN gradients there too.
  if (coef < 1 || Number.isNaN(coef)) for (const g of grads) backend.unary('mulScalar', g, g, coef);
  return total;
}

/**
 * One gradient's share of the joint norm, with the backend's kernels (an element loop in
 * JavaScript over wasm memory is slow): max |g| for the Infinity
 * norm, else Σ|g|ᵖ (a float32 sum per tensor, as PyTorch's per-tensor norms; the tensors' sums
 * are then added in float64). tmp (at least g's length) and out (1 float) are scratch.
 */
function partialNorm(backend: Backend, g: Float32Array, normType: number, tmp: Float32Array, out: Float32Array): number {
  const n = g.length;
  if (n === 0) return 0;
  const t = tmp.length === n ? tmp : tmp.subarray(0, n);
  if (normType === 2) backend.unary('square', g, t, 0);
  else {
    backend.unary('abs', g, t, 0);
    if (normType !== 1 && normType !== Infinity) backend.unary('powScalar', t, t, normType);
  }
  backend.reduce(normType === Infinity ? 'max' : 'sum', t, [n], [0], out);
  return out[0]!;
}

/** Clamps every gradient element into [-clipValue, clipValue]. */
export function clipGradValue(params: Tensor | Iterable<Tensor>, clipValue: number): void {
  if (typeof clipValue !== 'number' || Number.isNaN(clipValue) || clipValue < 0)
    throw new RangeError(`clipGradValue: invalid clipValue = ${String(clipValue)} (must be a number >= 0)`);
  const backend = getBackend();
  for (const g of gradsOf('clipGradValue', params)) backend.clamp(g, -clipValue, clipValue, g);
}
