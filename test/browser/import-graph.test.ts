/**
 * The browser entry's import graph, read from the source: every module src/browser.ts reaches
 * through value imports (static, re-exports, and dynamic imports of a literal) must name no
 * `node:` module and no Node builtin. Type-only imports are erased by the compiler and so are
 * allowed. A failure names the chain of files from src/browser.ts to the import.
 */
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const builtins = new Set(builtinModules);

function isNodeBuiltin(spec: string): boolean {
  return spec.startsWith('node:') || builtins.has(spec) || builtins.has(spec.split('/')[0]!);
}

/** The module specifiers a file imports at run time (type-only imports left out). */
function valueImports(file: string, text = readFileSync(file, 'utf8')): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const c = node.importClause;
      const typeOnly =
        c !== undefined &&
        (c.isTypeOnly ||
          (c.name === undefined && c.namedBindings !== undefined && ts.isNamedImports(c.namedBindings) && c.namedBindings.elements.length > 0 && c.namedBindings.elements.every((e) => e.isTypeOnly)));
      if (!typeOnly) out.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const typeOnly =
        node.isTypeOnly ||
        (node.exportClause !== undefined && ts.isNamedExports(node.exportClause) && node.exportClause.elements.length > 0 && node.exportClause.elements.every((e) => e.isTypeOnly));
      if (!typeOnly) out.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg && ts.isStringLiteralLike(arg)) out.push(arg.text);
    } else if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'require') {
      const arg = node.arguments[0];
      if (arg && ts.isStringLiteralLike(arg)) out.push(arg.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** Walks src/ from `entry`; returns each Node import with the chain of files that reaches it. */
function nodeImportsFrom(entry: string): { spec: string; chain: string[] }[] {
  const found: { spec: string; chain: string[] }[] = [];
  const seen = new Set<string>();
  const walk = (file: string, chain: string[]): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const here = [...chain, relative(root, file)];
    for (const spec of valueImports(file)) {
      if (spec.startsWith('.')) walk(join(dirname(file), spec.replace(/\.js$/, '.ts')), here);
      else if (isNodeBuiltin(spec)) found.push({ spec, chain: here });
    }
  };
  walk(join(root, entry), []);
  return found;
}

describe('the browser entry imports no Node module', () => {
  it('src/browser.ts reaches no node: specifier or Node builtin', () => {
    const found = nodeImportsFrom('src/browser.ts');
    expect(found.map((f) => `${f.spec} via ${f.chain.join(' → ')}`)).toEqual([]);
  });

  it('the check sees what it must: value imports, re-exports, literal dynamic imports, and require', () => {
    const text = [
      "import { readFileSync } from 'node:fs';",
      "import type { Stats } from 'node:fs';",
      "import { type Dirent } from 'fs';",
      "export { join } from 'node:path';",
      "export type { ParsedPath } from 'path';",
      "const os = await import('node:os');",
      "type W = typeof import('node:worker_threads');",
      "const z = require('zlib');",
      "import './local.js';",
    ].join('\n');
    expect(valueImports('x.ts', text)).toEqual(['node:fs', 'node:path', 'node:os', 'zlib', './local.js']);
    expect(['node:fs', 'fs/promises', 'zlib', 'fast-png', './a.js'].map(isNodeBuiltin)).toEqual([true, true, true, false, false]);
  });

  it('the Node entry does reach node: modules (the walk follows the source)', () => {
    const specs = new Set(nodeImportsFrom('src/index.ts').map((f) => f.spec));
    expect(specs.has('node:fs')).toBe(true);
  });
});
