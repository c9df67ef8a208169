/**
 * The browser-safe part of src/io: the safetensors and PNG codecs, on bytes. File readers and
 * writers (safetensors-node.ts, png-node.ts, atomic.ts) are in index.ts.
 */
export * from './safetensors.js';
export * from './png.js';
