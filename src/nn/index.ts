/** Neural-network layers, initialisers, losses and summary. */
export { Module, Parameter, type StateDict, type LoadStateDictOptions, type LoadStateDictResult } from './module.js';
export { Linear, Identity, Flatten, Unflatten, type LinearOptions } from './linear.js';
export { Conv2d, ConvTranspose2d, type Conv2dLayerOptions, type ConvTranspose2dLayerOptions } from './conv.js';
export { MaxPool2d, AvgPool2d, Upsample, type MaxPool2dOptions, type AvgPool2dOptions, type UpsampleOptions } from './pooling.js';
export {
  Sigmoid,
  Tanh,
  ReLU,
  LeakyReLU,
  PReLU,
  ELU,
  Softplus,
  GELU,
  SiLU,
  Softmax,
  LogSoftmax,
  ACTIVATIONS,
  ACTIVATION_NAMES,
  activation,
  type ActivationName,
} from './activation.js';
export { Dropout, type DropoutOptions } from './dropout.js';
export { BatchNorm1d, BatchNorm2d, type BatchNormOptions } from './normalization.js';
export { Sequential, ModuleList } from './container.js';
export { summary, type Summary, type SummaryRow } from './summary.js';
export * as init from './init.js';
export * as losses from './losses.js';
