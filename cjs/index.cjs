'use strict';
// The `require` entry of aelab. The library is an ES module whose entry waits (top-level await) for
// its WebAssembly kernels to compile before it exports anything, and require() cannot wait; so
// CommonJS code gets this one-line error naming what works instead of Node's ERR_REQUIRE_ASYNC_MODULE.
const error = new Error(
  "aelab is an ES module that loads its WebAssembly kernels with top-level await, so require('aelab') cannot load it: use `const aelab = await import('aelab')` (or `import { … } from 'aelab'` in an ES module).",
);
error.code = 'ERR_REQUIRE_ASYNC_MODULE';
throw error;
