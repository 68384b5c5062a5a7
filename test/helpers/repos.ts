/** Registries tests build from fixture repositories. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadRegistry } from '../../src/registry/load.ts';
import type { Registry } from '../../src/registry/registry.ts';
import { FIXTURES } from './paths.ts';

export const SERVING_DIRS = {
  schemaDir: path.join(FIXTURES, 'repos/serving/schema'),
  transformsDir: path.join(FIXTURES, 'repos/serving/transforms'),
};

export async function loadFixtureRegistry(dirs: { schemaDir: string; transformsDir: string } = SERVING_DIRS): Promise<Registry> {
  const result = await loadRegistry(dirs);
  if (!result.ok) assert.fail(result.problems.map((p) => `${p.loc.file}:${p.loc.line} ${p.code} ${p.message}`).join('\n'));
  return result.registry;
}

/** A registry from SDL text (and transforms by name, each returning {}), failing the test on any problem. */
export async function registryFromSdl(text: string, transforms: readonly string[] = []): Promise<Registry> {
  const { readSchemaFiles } = await import('../../src/registry/sdl.ts');
  const { buildRegistry } = await import('../../src/registry/build.ts');
  const { decls, problems } = readSchemaFiles([{ path: 'inline.graphql', text }]);
  const result = buildRegistry(decls, transforms.map((name) => ({ name, path: `${name}.ts`, sha256: '', source: `export default function ${name}() { return {}; }` })), problems);
  if (!result.ok) assert.fail(result.problems.map((p) => `${p.loc.line}:${p.loc.column} ${p.code} ${p.message}`).join('\n'));
  return result.registry;
}
