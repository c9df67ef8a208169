/** The functional op surface. Importing it installs the Tensor methods and the gradient rules. */
import './methods.js';
import '../autograd/rules.js';

export * from './elementwise.js';
export * from './losses.js';
export * from './reduce.js';
export * from './shape.js';
export * from './linalg.js';
export * from './conv.js';
export * from './nn.js';
export { broadcastShapes, type TensorLike } from './util.js';
