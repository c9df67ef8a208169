/**
 * aelab's optimizers, learning-rate schedulers and gradient clipping (torch.optim semantics).
 *
 *   const opt = new Adam(model.parameters(), { lr: 1e-3 });
 *   const sched = new StepLR(opt, { stepSize: 10, gamma: 0.5 });
 *   for each batch: opt.zeroGrad(); loss.backward(); clipGradNorm(params, 1); opt.step();
 *   each epoch:     sched.step();
 */
export {
  Optimizer,
  HyperCheck,
  type ParamGroup,
  type Params,
  type ResolvedGroup,
  type ParamState,
  type StateValue,
  type StateSpec,
  type SerializedBuffer,
  type SerializedState,
  type OptimizerStateDict,
  type StateDictOptions,
} from './optimizer.js';
export { SGD, Momentum, Nesterov, type SGDHyper, type SGDOptions } from './sgd.js';
export { Adagrad, type AdagradHyper, type AdagradOptions } from './adagrad.js';
export { Adadelta, type AdadeltaHyper, type AdadeltaOptions } from './adadelta.js';
export { RMSprop, type RMSpropHyper, type RMSpropOptions } from './rmsprop.js';
export { Adam, AdamW, type AdamHyper, type AdamOptions } from './adam.js';
export { createOptimizer, OPTIMIZER_NAMES, type OptimizerName, type CreateOptimizerOptions, type AnyOptimizer } from './factory.js';
export {
  LRScheduler,
  StepLR,
  ExponentialLR,
  CosineAnnealingLR,
  ReduceLROnPlateau,
  type LrOptimizer,
  type SchedulerStateDict,
  type StepLROptions,
  type ExponentialLROptions,
  type CosineAnnealingLROptions,
  type ReduceLROnPlateauOptions,
  type ReduceLROnPlateauStateDict,
} from './schedulers.js';
export { clipGradNorm, clipGradValue, type ClipGradNormOptions } from './clip.js';
