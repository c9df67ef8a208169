/**
 * Renders chart specs in Node: Vega-Lite → Vega → SVG with Vega's headless View (renderer
 * 'none': no canvas, no DOM), then SVG → PNG with resvg.
 *
 * Fonts: resvg draws text only with fonts it has loaded, and a CI machine may have no system
 * fonts at all. We therefore load DejaVu Sans from the `dejavu-fonts-ttf` npm package (a
 * dependency) and map the generic `sans-serif` family, which Vega uses by default, to it. System
 * fonts are skipped by default: that is faster and makes the PNGs identical on every machine.
 * Pass `loadSystemFonts: true` (or extra `fontFiles`) for scripts DejaVu lacks, such as Hangul.
 *
 * Node only (fs and a native addon); the specs themselves (specs.ts) are browser-safe.
 * vega, vega-lite and resvg are loaded on first use: they are large to import, and a training run
 * should not wait for them before its first step.
 */

import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { createRequire } from 'node:module';
import type * as vega from 'vega';
import { writeFileAtomic } from '../io/atomic.js';
import type { ChartSpec } from './specs.js';

export interface RenderPngOptions {
  /** Pixel density: 2 (default) draws a 480-px-wide plot as 960 px for crisp text. */
  scale?: number;
  /** Extra .ttf/.otf files to load (added to the bundled DejaVu Sans). */
  fontFiles?: string[];
  /** Also load the machine's fonts (default false). */
  loadSystemFonts?: boolean;
  /** Background colour behind transparent areas (default white). */
  background?: string;
}

/** A Vega spec (already compiled) is passed through; anything else is compiled as Vega-Lite. */
async function toVega(spec: ChartSpec | vega.Spec): Promise<vega.Spec> {
  const s = spec as { $schema?: unknown; marks?: unknown };
  const isVega =
    (typeof s.$schema === 'string' && /\/schema\/vega\/v/.test(s.$schema)) ||
    (s.$schema === undefined && Array.isArray(s.marks));
  if (isVega) return spec as vega.Spec;
  const { compile } = await import('vega-lite');
  try {
    return compile(spec as ChartSpec).spec;
  } catch (e) {
    throw new Error(`renderSpecToSvg: invalid Vega-Lite spec: ${(e as Error).message}`);
  }
}

/** Renders a Vega-Lite (or Vega) spec to an SVG string. */
export async function renderSpecToSvg(spec: ChartSpec | vega.Spec): Promise<string> {
  // Vega tags the data objects it ingests (a Symbol id on each row); render a copy so the
  // caller's spec stays as it was, ready to be saved or rendered again.
  const vg = await import('vega');
  const view = new vg.View(vg.parse(await toVega(structuredClone(spec))), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

let bundledFonts: string[] | undefined;

/** Paths of the bundled DejaVu Sans files, or [] when the package is not installed. */
export function bundledFontFiles(): string[] {
  if (bundledFonts) return bundledFonts;
  try {
    const require = createRequire(import.meta.url);
    const dir = nodePath.join(
      nodePath.dirname(require.resolve('dejavu-fonts-ttf/package.json')),
      'ttf',
    );
    bundledFonts = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf', 'DejaVuSans-Oblique.ttf']
      .map((f) => nodePath.join(dir, f))
      .filter((f) => fs.existsSync(f));
  } catch {
    bundledFonts = [];
  }
  return bundledFonts;
}

/** Renders an SVG string to PNG bytes. */
export function svgToPng(svg: string, opts: RenderPngOptions = {}): Uint8Array {
  const scale = opts.scale ?? 2;
  if (!(scale > 0) || !Number.isFinite(scale)) {
    throw new Error(`renderSpecToPng: scale must be a positive number, got ${scale}`);
  }
  const files = [...bundledFontFiles(), ...(opts.fontFiles ?? [])];
  // Without any font file, fall back to the system's fonts rather than drawing no text at all.
  const system = opts.loadSystemFonts ?? files.length === 0;
  const family = files.length > 0 ? 'DejaVu Sans' : undefined;
  const { Resvg } = createRequire(import.meta.url)('@resvg/resvg-js') as typeof import('@resvg/resvg-js');
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: opts.background ?? 'white',
    font: {
      fontFiles: files,
      loadSystemFonts: system,
      ...(family ? { defaultFontFamily: family, sansSerifFamily: family } : {}),
    },
  });
  return resvg.render().asPng();
}

/** Renders a spec to PNG bytes. */
export async function renderSpecToPng(
  spec: ChartSpec | vega.Spec,
  opts: RenderPngOptions = {},
): Promise<Uint8Array> {
  return svgToPng(await renderSpecToSvg(spec), opts);
}

/**
 * Writes a chart, atomically, in the format the extension names: `.png` (rendered), `.svg`
 * (rendered), or `.json` (the spec itself, for vega-embed in the lab).
 */
export async function saveChart(
  path: string,
  spec: ChartSpec | vega.Spec,
  opts: RenderPngOptions = {},
): Promise<void> {
  const ext = nodePath.extname(path).toLowerCase();
  if (ext === '.png') await writeFileAtomic(path, await renderSpecToPng(spec, opts));
  else if (ext === '.svg') await writeFileAtomic(path, await renderSpecToSvg(spec));
  else if (ext === '.json') await writeFileAtomic(path, JSON.stringify(spec, null, 1) + '\n');
  else throw new Error(`saveChart: ${path}: extension must be .png, .svg or .json`);
}
