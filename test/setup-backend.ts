/**
 * Runs every test file on the backend its vitest project names (AELAB_BACKEND=js|wasm), so the
 * whole suite checks both backends with the same tolerances.
 */
import { setBackend } from '../src/kernels/registry.js';

const want = process.env.AELAB_BACKEND === 'wasm' ? 'wasm' : 'js';
await setBackend(want);
