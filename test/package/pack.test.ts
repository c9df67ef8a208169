/**
 * The npm package as a user gets it: `npm pack`, then `npm install <tarball>` into a fresh folder.
 * Runs once (js project): it exercises packaging, not a backend. Packs the current dist/ without
 * rebuilding it (--ignore-scripts), so it never rewrites dist/ under the other test files.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

// The npm_* variables of an enclosing `npm test` (config, lifecycle, package fields) would leak into
// the child npm and node processes; a user's shell has none of them.
const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'INIT_CWD'));
env.npm_config_update_notifier = 'false';
env.npm_config_fund = 'false';
env.npm_config_audit = 'false';

function run(cmd: string, args: string[], cwd: string, input?: string): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', input, timeout: 90_000 });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  return r;
}

function mustRun(cmd: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  const r = run(cmd, args, cwd);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

describe.skipIf(process.env.AELAB_BACKEND === 'wasm')('the packed package, installed in a fresh folder', () => {
  let tmp = '';
  let app = '';
  let pkgDir = '';
  let installErr = '';

  beforeAll(() => {
    if (!existsSync(join(root, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` before this test');
    tmp = mkdtempSync(join(tmpdir(), 'aelab-pack-'));
    const packed = mustRun('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], root);
    const { filename } = (JSON.parse(packed.stdout) as { filename: string }[])[0]!;
    app = join(tmp, 'app');
    mustRun('mkdir', ['-p', app], tmp);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }) + '\n');
    // --prefer-offline: the dependencies come from npm's cache when they are there (no download)
    const inst = mustRun('npm', ['install', '--prefer-offline', join(tmp, filename)], app);
    installErr = inst.stderr;
    pkgDir = join(app, 'node_modules', 'aelab');
  }, 180_000);

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('installs without warnings', () => {
    expect(installErr).not.toMatch(/warn/i);
  });

  it('ships the LICENSE its manifest names (MIT)', () => {
    const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { license: string };
    expect(manifest.license).toBe('MIT');
    expect(readFileSync(join(pkgDir, 'LICENSE'), 'utf8')).toMatch(/^MIT License\s+Copyright \(c\) 2026 the aelab authors/);
  });

  it('has no install-time scripts (they would run, or be flagged, in every project that installs it)', () => {
    const { scripts = {} } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
    for (const s of ['preinstall', 'install', 'postinstall', 'prepare']) expect(scripts, `scripts.${s}`).not.toHaveProperty(s);
  });

  it('every source map in the package points at sources inside the package', () => {
    const maps = walk(pkgDir).filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(50);
    const missing: string[] = [];
    for (const m of maps) {
      const map = JSON.parse(readFileSync(m, 'utf8')) as { sources: string[]; sourceRoot?: string };
      for (const s of map.sources) {
        const p = resolve(dirname(m), map.sourceRoot ?? '', s);
        if (!p.startsWith(pkgDir + sep) || !existsSync(p)) missing.push(`${relative(pkgDir, m)} → ${s}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('`npx aelab --help` runs the CLI', () => {
    const r = run('npx', ['--no-install', 'aelab', '--help'], app);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: aelab \[options\] \[command\]/);
  });

  it('import() loads the library and computes', () => {
    const r = run(process.execPath, ['--input-type=module', '-e', "const a = await import('aelab'); console.log(a.tensor([1, 2, 3]).mul(2).sum().item());"], app);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('12');
  });

  it("ships the browser entry: import('aelab/browser') trains a step in Node, without starting a backend", () => {
    for (const f of ['browser.js', 'browser.d.ts']) expect(existsSync(join(pkgDir, 'dist', f)), f).toBe(true);
    const script = [
      "const a = await import('aelab/browser');",
      'const before = a.getBackend().name;',
      'const m = new a.nn.Linear(2, 1);',
      "const t = new a.Trainer(m, { data: new a.TensorDataset(a.tensor([[0, 1], [1, 0]]), a.tensor([[1], [2]])), loss: a.losses.mse, epochs: 1, batchSize: 2, runDir: 'r' });",
      'await t.fit();',
      "console.log(before, t.storage.constructor.name, t.storage.readText('r/metrics.jsonl').split('\\n').length - 1);",
    ].join(' ');
    const r = run(process.execPath, ['--input-type=module', '-e', script], app);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('js MemoryStorage 1');
  });

  it("a browser bundle of 'aelab/browser' (esbuild, platform browser) resolves through the exports map and reaches no Node builtin", async () => {
    const r = await esbuild.build({
      stdin: { contents: "export * from 'aelab/browser';", resolveDir: app, loader: 'js' },
      absWorkingDir: app,
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(r.metafile.inputs);
    expect(inputs).toContain('node_modules/aelab/dist/browser.js');
    expect(inputs.filter((i) => i.startsWith('node:') || (!i.startsWith('node_modules/') && i !== '<stdin>'))).toEqual([]);
    expect(inputs.some((i) => i.startsWith('node_modules/aelab/dist/') && /-node\.js$|atomic\.js$|render\.js$/.test(i))).toBe(false);
  });

  it("a browser TypeScript project (lib dom, no @types/node, skipLibCheck off) type-checks against 'aelab/browser'", () => {
    const dir = join(app, 'web');
    mustRun('mkdir', ['-p', dir], app);
    writeFileSync(
      join(dir, 'main.ts'),
      [
        "import { initBackend, models, Trainer, MemoryStorage, TensorDataset, tensor, losses, viz, type RunStorage } from 'aelab/browser';",
        'await initBackend();',
        'const storage: RunStorage = new MemoryStorage();',
        "const model = models.buildModel(models.defaultConfig('ae', [1, 4, 4], { hidden: [], latent: 2 }));",
        "const t = new Trainer(model, { data: new TensorDataset(tensor([[0, 1]])), loss: losses.mse, runDir: 'r', storage });",
        'export const out: [Promise<unknown>, string] = [t.fit(), viz.VEGA_LITE_SCHEMA];',
        // a wrong use must be reported, or the check proves nothing
        "// @ts-expect-error: a storage is not a number",
        'export const bad: number = storage;',
      ].join('\n'),
    );
    const config = { compilerOptions: { strict: true, target: 'es2022', module: 'esnext', moduleResolution: 'bundler', lib: ['es2022', 'dom'], types: [], skipLibCheck: false, noEmit: true }, files: ['main.ts'] };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config));
    const r = run(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], dir);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('ships the built lab (web/dist), and the installed `aelab lab` serves it with its scripts and the embedded digits', async () => {
    const lab = join(pkgDir, 'web', 'dist');
    expect(existsSync(join(lab, 'index.html')), 'web/dist/index.html in the package').toBe(true);
    for (const f of ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 'test-images-idx3-ubyte.gz', 'test-labels-idx1-ubyte.gz'])
      expect(existsSync(join(lab, 'embedded', 'mnist', f)), f).toBe(true);
    // the lab's sources and build config stay out of the package
    expect(existsSync(join(pkgDir, 'web', 'src'))).toBe(false);
    const server = spawn(process.execPath, [join(pkgDir, 'bin', 'aelab.js'), 'lab', '--port', '0'], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((ok, fail) => {
        let out = '';
        const timer = setTimeout(() => fail(new Error(`aelab lab printed no URL:\n${out}`)), 20_000);
        const onData = (b: Buffer) => {
          out += b.toString();
          const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
          if (m) {
            clearTimeout(timer);
            ok(m[0]);
          }
        };
        server.stdout.on('data', onData);
        server.stderr.on('data', onData);
      });
      const html = await (await fetch(url)).text();
      const scripts = [...html.matchAll(/src="\.\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]!);
      expect(scripts.length).toBeGreaterThan(0);
      for (const s of scripts) expect((await fetch(new URL(s, url))).status, s).toBe(200);
      const digits = await fetch(new URL('embedded/mnist/test-labels-idx1-ubyte.gz', url));
      expect(digits.status).toBe(200);
      expect(new Uint8Array(await digits.arrayBuffer()).subarray(0, 2)).toEqual(Uint8Array.of(0x1f, 0x8b));
    } finally {
      server.kill('SIGINT');
    }
  });

  it("require('aelab') throws one clear error that says to use import()", () => {
    const script = "try { require('aelab'); console.log('loaded'); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }";
    const r = run(process.execPath, ['-e', script], app);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { code: string; message: string };
    expect(out.message).toContain("await import('aelab')");
    expect(out.message.split('\n')).toHaveLength(1);
    expect(out.code).toBe('ERR_REQUIRE_ASYNC_MODULE');
  });

  it('with --enable-source-maps, stack traces name TypeScript files that exist in the package', () => {
    const script = "const a = await import('aelab'); try { a.tensor([1, 2]).reshape([3]); } catch (e) { console.log(e.stack); }";
    const r = run(process.execPath, ['--enable-source-maps', '--input-type=module', '-e', script], app);
    const frames = [...r.stdout.matchAll(/\(([^()]+\.ts):\d+:\d+\)/g)].map((m) => m[1]!);
    expect(frames.length, r.stdout).toBeGreaterThan(0);
    for (const f of frames) {
      expect(f.startsWith(join(pkgDir, 'src') + sep), f).toBe(true);
      expect(existsSync(f), f).toBe(true);
    }
  });
});
