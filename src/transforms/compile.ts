/**
 * Turns a transform's TypeScript into the JavaScript module the sandbox runs: types stripped (Node's own
 * stripper, the erasable syntax only: no enums or namespaces), nothing else changed, so line numbers in
 * errors still match the file. A transform may import types (erased) and nothing else: the sandbox has
 * no modules to give it.
 */
import { stripTypeScriptTypes } from 'node:module';

export type CompileResult = { readonly ok: true; readonly js: string } | { readonly ok: false; readonly message: string };

// A value import that survived stripping: `import x from`, `import {x} from`, `import 'x'`, `export … from`.
const VALUE_IMPORT = /^\s*(import\s*(?:[\w*{$][^;]*?\sfrom\s*)?["']|export\s[^;]*?\sfrom\s*["'])/m;
const DEFAULT_EXPORT = /^\s*export\s+default\s/m;

export function compileTransform(source: string): CompileResult {
  let js: string;
  try {
    js = quietly(() => stripTypeScriptTypes(source, { mode: 'strip' }));
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
  const imported = VALUE_IMPORT.exec(js);
  if (imported !== null) {
    const line = js.slice(0, imported.index + imported[0].search(/\S/)).split('\n').length;
    return { ok: false, message: `line ${line}: a transform can import types only (import type …); the sandbox has no modules` };
  }
  if (!DEFAULT_EXPORT.test(js)) return { ok: false, message: 'no default export: a transform default-exports a function of one row' };
  return { ok: true, js };
}

/** stripTypeScriptTypes warns that it is experimental on first use; the CLI's output is not the place. */
function quietly<T>(run: () => T): T {
  const emit = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (String(warning).includes('stripTypeScriptTypes')) return;
    (emit as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return run();
  } finally {
    process.emitWarning = emit;
  }
}
