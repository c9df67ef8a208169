/** The fused optimizer steps of the reference backend, in place (PyTorch 1.13's formulas). */
import type { AdadeltaParams, AdagradParams, AdamParams, F32, RmspropParams, SgdParams } from '../backend.js';

export function adamStep(p: F32, g: F32, m: F32, v: F32, vmax: F32 | null, hp: AdamParams): void {
  const { lr, beta1, beta2, eps, weightDecay, decoupled, amsgrad, step } = hp;
  const bc1 = 1 - Math.pow(beta1, step);
  const bc2 = 1 - Math.pow(beta2, step);
  const stepSize = lr / bc1;
  const sqrtBc2 = Math.sqrt(bc2);
  const n = p.length;
  for (let i = 0; i < n; i++) {
    let gi = g[i]!;
    let pi = p[i]!;
    if (weightDecay !== 0) {
      if (decoupled) pi *= 1 - lr * weightDecay;
      else gi += weightDecay * pi;
    }
    const mi = beta1 * m[i]! + (1 - beta1) * gi;
    const vi = beta2 * v[i]! + (1 - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    let vh = vi;
    if (amsgrad && vmax) {
      vh = Math.max(vmax[i]!, vi);
      vmax[i] = vh;
    }
    // PyTorch: p -= lr/bc1 · m / (sqrt(v)/sqrt(bc2) + eps)
    p[i] = pi - (stepSize * mi) / (Math.sqrt(vh) / sqrtBc2 + eps);
  }
}

export function sgdStep(p: F32, g: F32, buf: F32 | null, hp: SgdParams): void {
  const { lr, momentum, dampening, weightDecay, nesterov, first } = hp;
  const n = p.length;
  for (let i = 0; i < n; i++) {
    let d = g[i]!;
    if (weightDecay !== 0) d += weightDecay * p[i]!;
    if (momentum !== 0 && buf) {
      const b = first ? d : momentum * buf[i]! + (1 - dampening) * d;
      buf[i] = b;
      d = nesterov ? d + momentum * b : b;
    }
    p[i] = p[i]! - lr * d;
  }
}

/**
 * RMSprop (torch.optim.RMSprop, 1.13):
 *   g = g + wd·p;  s = α·s + (1 − α)·g²
 *   centered: ḡ = α·ḡ + (1 − α)·g, avg = √(s − ḡ²) + ε;  otherwise avg = √s + ε
 *   momentum: b = μ·b + g/avg, p = p − lr·b;  otherwise p = p − lr·g/avg
 */
export function rmspropStep(p: F32, g: F32, sq: F32, ga: F32 | null, mb: F32 | null, hp: RmspropParams): void {
  const { lr, alpha, eps, weightDecay, momentum } = hp;
  for (let i = 0; i < p.length; i++) {
    let gi = g[i]!;
    if (weightDecay !== 0) gi += weightDecay * p[i]!;
    const s = (sq[i] = Math.fround(alpha * sq[i]! + (1 - alpha) * gi * gi));
    let avg: number;
    if (ga) {
      const m = (ga[i] = Math.fround(alpha * ga[i]! + (1 - alpha) * gi));
      avg = Math.sqrt(s - m * m) + eps;
    } else avg = Math.sqrt(s) + eps;
    if (mb) {
      const b = (mb[i] = Math.fround(momentum * mb[i]! + gi / avg));
      p[i] = p[i]! - lr * b;
    } else p[i] = p[i]! - (lr * gi) / avg;
  }
}

/** Adagrad (torch.optim.Adagrad, 1.13): g = g + wd·p;  s = s + g²;  p = p − clr·g / (√s + ε). */
export function adagradStep(p: F32, g: F32, sum: F32, hp: AdagradParams): void {
  const { clr, eps, weightDecay } = hp;
  for (let i = 0; i < p.length; i++) {
    let gi = g[i]!;
    if (weightDecay !== 0) gi += weightDecay * p[i]!;
    // Continue with the float32 value the buffer holds, as PyTorch does.
    const s = (sum[i] = Math.fround(sum[i]! + gi * gi));
    p[i] = p[i]! - (clr * gi) / (Math.sqrt(s) + eps);
  }
}

/**
 * Adadelta (torch.optim.Adadelta, 1.13):
 *   g = g + wd·p;  s = ρ·s + (1 − ρ)·g²;  Δ = √(a + ε) / √(s + ε) · g;  a = ρ·a + (1 − ρ)·Δ²;  p = p − lr·Δ
 */
export function adadeltaStep(p: F32, g: F32, sq: F32, acc: F32, hp: AdadeltaParams): void {
  const { lr, rho, eps, weightDecay } = hp;
  for (let i = 0; i < p.length; i++) {
    let gi = g[i]!;
    if (weightDecay !== 0) gi += weightDecay * p[i]!;
    const s = (sq[i] = Math.fround(rho * sq[i]! + (1 - rho) * gi * gi));
    const delta = (Math.sqrt(acc[i]! + eps) / Math.sqrt(s + eps)) * gi;
    acc[i] = rho * acc[i]! + (1 - rho) * delta * delta;
    p[i] = p[i]! - lr * delta;
  }
}
