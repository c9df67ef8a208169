/**
 * The kernel backends fixture tests run on: js always; wasm when this runtime can start it
 * (reported as skipped otherwise). With AELAB_BACKEND=wasm, wasm is required: if it cannot
 * start, the suite fails instead of skipping. Leaves the js backend selected.
 */
import { readFileSync } from 'node:fs';
import { setBackend } from '../../src/index.js';

export async function fixtureBackends(): Promise<readonly { name: 'js' | 'wasm'; run: boolean }[]> {
  const wasmStarts = await setBackend('wasm').then(
    () => true,
    () => false,
  );
  await setBackend('js');
  return [
    { name: 'js', run: true },
    { name: 'wasm', run: wasmStarts || process.env.AELAB_BACKEND === 'wasm' },
  ];
}

/** A committed PyTorch fixture from test/fixtures/torch/. */
export function loadTorchFixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../fixtures/torch/${name}`, import.meta.url), 'utf8')) as T;
}
