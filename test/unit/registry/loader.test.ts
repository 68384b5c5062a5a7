/** Loading from disk: every file read, every problem reported at once, located in the right file. */
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { loadRegistry } from '../../../src/registry/load.ts';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function repo(files: Record<string, string>): Promise<{ schemaDir: string; transformsDir: string }> {
  const root = await mkdtemp(path.join(tmpdir(), 'skewless-registry-'));
  dirs.push(root);
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), text);
  }
  return { schemaDir: path.join(root, 'schema'), transformsDir: path.join(root, 'transforms') };
}

describe('loadRegistry', () => {
  it('reports NO_SCHEMA_FILES for a directory without .graphql files', async () => {
    const result = await loadRegistry(await repo({ 'schema/README.md': 'nothing here' }));
    assert.equal(result.ok, false);
    if (!result.ok) assert.deepEqual(result.problems.map((p) => p.code), ['NO_SCHEMA_FILES']);
  });

  it('reads nested directories and reports problems from every file in one run', async () => {
    const result = await loadRegistry(
      await repo({
        'schema/a.graphql': 'type User @entity(key: ["user_id"]) { user_id: ID! }\ntype Stats @featureView(entity: "User", ttl: "3x") { n: Int }\n',
        'schema/nested/b.graphql': 'type Broken {',
        'schema/nested/c.graphql': 'type Stats @featureView(entity: "Nobody") { m: Int }\n',
      }),
    );
    assert.equal(result.ok, false);
    if (result.ok) return;
    const seen = result.problems.map((p) => `${path.basename(p.loc.file)}:${p.loc.line} ${p.code}`);
    assert.deepEqual(seen, ['a.graphql:2 INVALID_TTL', 'b.graphql:1 SDL_SYNTAX', 'c.graphql:1 DUPLICATE_NAME']);
    const duplicate = result.problems.find((p) => p.code === 'DUPLICATE_NAME');
    assert.match(duplicate!.message, /a\.graphql:2:6/, 'names where the first definition is');
  });

  it('finds transforms by file name and ignores declaration files', async () => {
    const result = await loadRegistry(
      await repo({
        'schema/a.graphql': [
          'type User @entity(key: ["user_id"]) { user_id: ID! }',
          'type Stats @featureView(entity: "User") { n: Int }',
          'type Sig @onDemand(transform: "sig", inputs: ["stats"]) { x: Float }',
          'type Typ @onDemand(transform: "types", inputs: ["stats"]) { y: Float }',
        ].join('\n'),
        'transforms/sig.ts': 'export default () => ({ x: 1 });\n',
        'transforms/types.d.ts': 'export {};\n',
      }),
    );
    assert.equal(result.ok, false);
    if (!result.ok) assert.deepEqual(result.problems.map((p) => [p.code, p.loc.line]), [['TRANSFORM_NOT_FOUND', 4]]);
  });
});
