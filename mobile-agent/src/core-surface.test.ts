import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/**
 * The agent's core (`@phr/mobile-agent`) is what a phone app reuses; the local web page
 * (`@phr/mobile-agent/ui`) is a desktop convenience built on Express. This walks the static import
 * graph from the core's entry point, so an import that drags the web stack into the core fails
 * here instead of being noticed in a phone build.
 */
const SRC = __dirname;
const WEB_ONLY_PACKAGES = ['express', 'body-parser', 'cookie-parser', 'serve-static'];

interface Graph {
  files: Set<string>;
  /** bare specifier → the first file that imports it */
  packages: Map<string, string>;
}

function resolveLocal(from: string, specifier: string): string | undefined {
  const base = resolve(dirname(from), specifier);
  for (const candidate of [`${base}.ts`, join(base, 'index.ts')]) if (existsSync(candidate)) return candidate;
  return undefined;
}

function importGraph(entry: string): Graph {
  const graph: Graph = { files: new Set(), packages: new Map() };
  const pending = [entry];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (graph.files.has(file)) continue;
    graph.files.add(file);
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, false);
    for (const { fileName: specifier } of importedFiles) {
      if (specifier.startsWith('.')) {
        const target = resolveLocal(file, specifier);
        if (!target) throw new Error(`${relative(SRC, file)} imports ${specifier}, which does not resolve`);
        pending.push(target);
      } else {
        const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
        if (!graph.packages.has(name)) graph.packages.set(name, relative(SRC, file));
      }
    }
  }
  return graph;
}

describe('the agent core surface', () => {
  const core = importGraph(join(SRC, 'index.ts'));
  const ui = importGraph(join(SRC, 'ui', 'index.ts'));

  it('reaches no web framework and no file of the local web page', () => {
    const web = WEB_ONLY_PACKAGES.filter((p) => core.packages.has(p)).map((p) => `${p} (from ${core.packages.get(p)})`);
    expect(web).toEqual([]);
    const uiFiles = [...core.files].map((f) => relative(SRC, f)).filter((f) => f.startsWith(`ui/`));
    expect(uiFiles).toEqual([]);
  });

  it('is a real check: the web page itself does reach Express', () => {
    expect(ui.packages.has('express')).toBe(true);
    expect(core.files.size).toBeGreaterThan(20);
  });
});
