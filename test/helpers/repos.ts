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
