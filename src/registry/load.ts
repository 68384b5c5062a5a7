/**
 * Reads `schema/**\/*.graphql` and `transforms/*.ts` from disk and builds the registry. The only I/O in
 * the registry: everything after reading the files is the pure `buildRegistry`.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { buildRegistry } from './build.ts';
import type { BuildResult } from './build.ts';
import type { Problem } from './problems.ts';
import { readSchemaFiles } from './sdl.ts';
import type { Transform } from './types.ts';

export interface RegistryDirs {
  /** Directory searched recursively for *.graphql files. */
  readonly schemaDir: string;
  /** Directory holding one <name>.ts file per transform. */
  readonly transformsDir: string;
}

export async function loadRegistry(dirs: RegistryDirs): Promise<BuildResult> {
  const schemaPaths = (await listFiles(dirs.schemaDir, true)).filter((p) => p.endsWith('.graphql')).sort();
  if (schemaPaths.length === 0) {
    const problem: Problem = { code: 'NO_SCHEMA_FILES', message: `no .graphql files under ${dirs.schemaDir}`, loc: { file: display(dirs.schemaDir), line: 1, column: 1 } };
    return { ok: false, problems: [problem] };
  }
  const files = await Promise.all(schemaPaths.map(async (p) => ({ path: display(p), text: await readFile(p, 'utf8') })));
  const { decls, problems } = readSchemaFiles(files);
  return buildRegistry(decls, await loadTransforms(dirs.transformsDir), problems);
}

/** Every `<name>.ts` directly in the transforms directory (not `.d.ts`), with its content hash. */
export async function loadTransforms(dir: string): Promise<Transform[]> {
  const paths = (await listFiles(dir, false)).filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts')).sort();
  return Promise.all(
    paths.map(async (p) => {
      const bytes = await readFile(p);
      return { name: path.basename(p, '.ts'), path: display(p), sha256: createHash('sha256').update(bytes).digest('hex'), source: bytes.toString('utf8') };
    }),
  );
}

async function listFiles(dir: string, recursive: boolean): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Paths in problems are relative to the working directory when under it: short and clickable. */
function display(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel.startsWith('..') || path.isAbsolute(rel) ? p : rel;
}
