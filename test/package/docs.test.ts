/**
 * `npm run docs`: the TypeDoc API reference from src/index.ts's doc comments. Written to a temporary
 * folder here; runs once (js project), as it reads sources and never touches a backend.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe.skipIf(process.env.AELAB_BACKEND === 'wasm')('npm run docs (TypeDoc)', () => {
  let out = '';
  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('writes the reference without warnings: every type an export uses is documented, no broken links', () => {
    out = mkdtempSync(join(tmpdir(), 'aelab-docs-'));
    const r = spawnSync(join(root, 'node_modules', '.bin', 'typedoc'), ['--out', out], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    const log = (r.stdout + r.stderr).replace(/\x1b\[[0-9;]*m/g, '');
    expect(r.status, log).toBe(0);
    expect(log).not.toMatch(/\[(warning|error)\]/);
    // the front page is docs/api-intro.md; the library's main classes and namespaces have pages
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toContain('aelab API reference');
    for (const page of ['classes/Tensor.html', 'classes/Trainer.html', 'modules/nn.html', 'modules/optim.html', 'modules/models.html', 'functions/tidy.html'])
      expect(existsSync(join(out, page)), page).toBe(true);
  }, 120_000);
});
