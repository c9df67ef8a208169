/** src/data for Node: everything in browser.ts plus files, gzip, downloads and named datasets. */

export * from './browser.js';
export { readIdx, writeIdx, maybeGunzip, decodeIdxMaybeGzip, type WriteIdxOptions } from './idx.js';
export * from './download.js';
export * from './sources.js';
