/** Interchange: safetensors, atomic file writes, PNG encode/decode and image grids. */
export * from './safetensors.js';
export * from './safetensors-node.js';
export * from './atomic.js';
export * from './png.js';
export * from './png-node.js';
