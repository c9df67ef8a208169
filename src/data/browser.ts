/**
 * The browser-safe part of src/data: no node:fs, node:zlib or node:crypto, so the web lab can
 * bundle it. File-based loaders (sources.ts, idx.ts, download.ts) are in index.ts.
 */

export * from './errors.js';
export * from './idx-codec.js';
export * from './dataset.js';
export * from './csv.js';
export * from './png.js';
export * from './split.js';
export * from './loader.js';
export * from './transforms.js';
export * from './tensor-dataset.js';
