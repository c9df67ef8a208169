/**
 * The browser entry bundles for a browser with the two bundlers a lab would use, with nothing
 * of Node in the result: esbuild with platform 'browser' (which cannot resolve `node:` modules
 * and fails on them), and Vite in library mode, which would quietly replace a Node builtin by an
 * empty stub, so a plugin here refuses every one it is asked to resolve.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { build as viteBuild, type Plugin } from 'vite';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const entry = join(root, 'src', 'browser.ts');
const builtins = new Set(builtinModules);
const isNodeBuiltin = (spec: string): boolean => spec.startsWith('node:') || builtins.has(spec) || builtins.has(spec.split('/')[0]!);
const tmp = mkdtempSync(join(tmpdir(), 'aelab-bundle-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Bundles src/browser.ts with esbuild for a browser; the errors, the bundle and its inputs. */
async function bundleBrowserEntry(outfile?: string): Promise<{ errors: string[]; code: string; inputs: string[] }> {
  const r = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: outfile !== undefined,
    ...(outfile !== undefined ? { outfile } : { outdir: tmp }),
    metafile: true,
    logLevel: 'silent',
  }).catch((e: esbuild.BuildFailure) => ({ errors: e.errors, outputFiles: [], metafile: { inputs: {} } }) as unknown as esbuild.BuildResult & { metafile: esbuild.Metafile });
  const code = outfile !== undefined ? readFileSync(outfile, 'utf8') : new TextDecoder().decode(r.outputFiles?.[0]?.contents ?? new Uint8Array());
  return { errors: r.errors.map((e) => `${e.text} (${e.location?.file ?? '?'}:${e.location?.line ?? '?'})`), code, inputs: Object.keys(r.metafile.inputs) };
}

describe('bundling src/browser.ts for a browser', () => {
  it('esbuild (platform browser) bundles it without errors, and no input is a Node builtin', async () => {
    const { errors, code, inputs } = await bundleBrowserEntry();
    expect(errors).toEqual([]);
    expect(inputs.filter(isNodeBuiltin)).toEqual([]);
    expect(inputs.filter((i) => !i.startsWith('src/') && !i.startsWith('node_modules/'))).toEqual([]);
    // the engine, the Trainer's loop and the codecs are in it; the resvg renderer and the file system are not
    expect(code).toContain('a metric cannot be named');
    expect(code).toContain('is not an object');
    expect(inputs).toContain('src/kernels/wasm/module.generated.ts');
    expect(inputs.some((i) => /resvg|vega|cli-progress|commander/.test(i))).toBe(false);
  });

  it('esbuild names the node: import when one is reachable (what the first check relies on)', async () => {
    const bad = join(tmp, 'bad.ts');
    const fs = await import('node:fs');
    fs.writeFileSync(bad, `export * from ${JSON.stringify(entry)};\nexport { existsSync } from 'node:fs';\n`);
    const r = await esbuild.build({ entryPoints: [bad], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent' }).then(
      () => null,
      (e: esbuild.BuildFailure) => e.errors.map((x) => x.text).join('\n'),
    );
    expect(r).toMatch(/node:fs/);
  });

  it('Vite (library mode) bundles it and is never asked to resolve a Node builtin', async () => {
    const asked: string[] = [];
    const noNode: Plugin = {
      name: 'aelab-no-node-builtins',
      enforce: 'pre',
      resolveId(id, importer) {
        if (isNodeBuiltin(id)) {
          asked.push(`${id} from ${importer ?? '?'}`);
          throw new Error(`${id} imported by ${importer ?? '?'}: the browser entry must not reach a Node builtin`);
        }
        return null;
      },
    };
    const outDir = join(tmp, 'vite');
    await viteBuild({
      configFile: false,
      root,
      logLevel: 'silent',
      plugins: [noNode],
      build: {
        outDir,
        emptyOutDir: true,
        minify: false,
        lib: { entry, formats: ['es'], fileName: 'aelab-browser' },
      },
    });
    expect(asked).toEqual([]);
    const files = readdirSync(outDir);
    expect(files.some((f) => f.endsWith('.js'))).toBe(true);
    const code = files.filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(outDir, f), 'utf8')).join('\n');
    expect(code).toContain('a metric cannot be named');
    // Vite's stub for an externalised builtin would read "__vite-browser-external"
    expect(code).not.toContain('__vite-browser-external');
  });
});
