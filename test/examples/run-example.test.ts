/** `npm run example -- <name>` (tools/run-example.mjs): the documented command runs an example with tsx against this repository's source. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const run = (...args: string[]) =>
  spawnSync(process.execPath, ['tools/run-example.mjs', ...args], { encoding: 'utf8', env: { ...process.env, AELAB_BACKEND: 'js' } });

// a child process, whatever the project's backend: run once
describe.skipIf(process.env.AELAB_BACKEND === 'wasm')('npm run example', () => {
  it('runs an example by name, with its options', () => {
    const r = run('tiny-ae', '--steps', '40');
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^MSE \d\.\d{4} at the first step → \d\.\d{4} after 40 steps\n$/);
    expect(r.status).toBe(0);
  });

  it('lists the examples for an unknown name; an example reports a bad option in one line', () => {
    const r = run('nope');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /no example 'nope'\. usage: npm run example -- <name> \[options\]\nexamples: .*anomaly-csv.*conv-ae.*load-model.*save-model.*tiny-ae.*vae/,
    );
    const bad = run('anomaly-csv', '--bogus');
    expect(bad.stderr).toMatch(/^error: Unknown option '--bogus'[^\n]*\n$/);
    expect(bad.status).toBe(1);
  });
});
