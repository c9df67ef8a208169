/**
 * What the numbers the models log are called, what each means and which sign it has: progress
 * lines, `aelab eval`, result.json, metrics.jsonl and the figures all use these names.
 *
 * The VAE family reports the *negative* ELBO (`neg_elbo`, positive for binary pixels: a cost in
 * nats, minimised), while the importance-weighted estimate is a log-likelihood (`log_px_iwae`,
 * negative for binary pixels, maximised). Since log p(x) ≥ ELBO, −log_px_iwae ≤ neg_elbo.
 */
import type { FamilyModel } from './types.js';

/** Short labels for figures and tables, by part key. */
export const PART_LABELS: Readonly<Record<string, string>> = {
  loss: 'loss',
  recon: '−log p(x|z)',
  kl: 'KL(q(z|x) ‖ p(z))',
  neg_elbo: '−ELBO',
  mse: 'MSE per pixel',
  sigma: 'decoder σ',
  sparsity: 'sparsity penalty Ω',
  meanActivation: 'mean code activation ρ̂',
  disc: 'discriminator loss',
  gen: 'generator loss',
  discAcc: 'discriminator accuracy',
  ce: 'cross-entropy',
  acc: 'accuracy',
  log_px_iwae: 'log p(x) (IWAE)',
};

/** One line per part key: what it is, its unit, its sign and which way is better. */
export const PART_DOCS: Readonly<Record<string, string>> = {
  loss: 'the training objective per image (lower is better)',
  recon: 'reconstruction term −log p(x|z) per image, summed over pixels, in nats (--loss mse: the summed squared error, the Gaussian one up to constants; lower is better)',
  kl: 'KL(q(z|x) ‖ N(0, I)) per image in nats, ≥ 0',
  neg_elbo: '−ELBO = recon + kl per image in nats, an upper bound on −log p(x) (lower is better)',
  mse: 'mean squared error per pixel of the decoded image (lower is better)',
  sigma: 'the Gaussian decoder’s pixel noise σ',
  sparsity: 'sparsity penalty Ω before its weight β: Σ_j KL(ρ ‖ ρ̂_j), or the mean |code| for l1',
  meanActivation: 'mean activation ρ̂ of the code units (the KL penalty pulls it to ρ)',
  disc: 'discriminator loss (binary cross-entropy, prior draws vs codes)',
  gen: 'generator loss: how badly the codes fool the discriminator',
  discAcc: 'discriminator accuracy (0.5: codes indistinguishable from the prior)',
  ce: 'cross-entropy per image in nats (lower is better)',
  acc: 'accuracy (higher is better)',
  log_px_iwae: 'importance-weighted estimate of log p(x) per image in nats, a log-likelihood (higher is better; ≥ −neg_elbo)',
};

/** The descriptions of the parts a metrics record has (for JSON files and --json output). */
export function partDocsFor(rec: Record<string, number>): Record<string, string> {
  return Object.fromEntries(Object.keys(rec).filter((k) => PART_DOCS[k]).map((k) => [k, PART_DOCS[k]!]));
}

/**
 * Part keys of earlier versions, by model kind, and their names now: `elbo` held the negative
 * ELBO under the name of a quantity of the opposite sign.
 */
export const LEGACY_PARTS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  vae: { elbo: 'neg_elbo' },
  cvae: { elbo: 'neg_elbo' },
};

/** A parts record with legacy keys renamed (a copy; the same object when nothing changes). */
export function renameLegacyParts(kind: string, rec: Record<string, number>): Record<string, number> {
  const map = LEGACY_PARTS[kind];
  if (!map || !Object.keys(rec).some((k) => k in map)) return rec;
  return Object.fromEntries(Object.entries(rec).map(([k, v]) => [map[k] ?? k, v]));
}

/**
 * A note on the signs of a model's numbers, or null: a Gaussian decoder scores pixels with a
 * density, and a density can exceed 1, so its −log p(x|z), −ELBO and loss can be negative.
 */
export function partsNote(model: Pick<FamilyModel, 'kind' | 'config'>): string | null {
  const c = model.config as { decoder?: string };
  if ((model.kind === 'vae' || model.kind === 'cvae') && c.decoder === 'gaussian')
    return 'the Gaussian decoder scores pixels with a density, which can exceed 1, so −log p(x|z), −ELBO and the loss can be negative nats (and log p(x) positive)';
  return null;
}
