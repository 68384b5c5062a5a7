/**
 * Every validation code has a broken-schema fixture in test/fixtures/invalid/<CODE>.graphql whose header
 * lines (`# expect: CODE line:column`) list exactly the problems it must produce — no more, no fewer.
 */
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { buildRegistry } from '../../../src/registry/build.ts';
import { PROBLEM_CODES } from '../../../src/registry/problems.ts';
import { readSchemaFiles } from '../../../src/registry/sdl.ts';
import type { Transform } from '../../../src/registry/types.ts';
import { FIXTURES } from '../../helpers/paths.ts';

const INVALID = path.join(FIXTURES, 'invalid');
const TRANSFORMS: Transform[] = [
  { name: 'noop', path: 'test/fixtures/transforms/noop.ts', sha256: '0'.repeat(64), source: 'export default function noop() { return {}; }' },
  { name: 'with_enum', path: 'with_enum.ts', sha256: '1'.repeat(64), source: 'enum Kind { A }\nexport default function f() { return { k: Kind.A }; }' },
  { name: 'imports_fs', path: 'imports_fs.ts', sha256: '2'.repeat(64), source: "import { readFileSync } from 'node:fs';\nexport default function f() { return { n: readFileSync.length }; }" },
];

async function check(text: string, file: string) {
  const { decls, problems } = readSchemaFiles([{ path: file, text }]);
  return buildRegistry(decls, TRANSFORMS, problems);
}

function expectations(text: string): string[] {
  return [...text.matchAll(/^# expect: ([A-Z_]+) (\d+:\d+)$/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
}

const fixtures = (await readdir(INVALID)).filter((f) => f.endsWith('.graphql')).sort();

describe('registry validation fixtures', () => {
  for (const name of fixtures) {
    it(`reports exactly the expected problems for ${name}`, async () => {
      const text = await readFile(path.join(INVALID, name), 'utf8');
      const expected = expectations(text);
      assert.ok(expected.length > 0, `${name} declares no expectations`);
      const result = await check(text, `fixtures/${name}`);
      assert.equal(result.ok, false, `${name} was accepted`);
      if (result.ok) return;
      const got = result.problems.map((p) => `${p.code} ${p.loc.line}:${p.loc.column}`).sort();
      assert.deepEqual(got, expected, result.problems.map((p) => `${p.loc.line}:${p.loc.column} ${p.code} ${p.message}`).join('\n'));
      for (const p of result.problems) {
        assert.equal(p.loc.file, `fixtures/${name}`);
        assert.ok(p.message.length > 10, `message too thin: ${p.message}`);
      }
    });
  }

  it('has a fixture for every problem code the loader does not own', () => {
    const covered = new Set(fixtures.map((f) => path.basename(f, '.graphql')));
    const missing = Object.keys(PROBLEM_CODES).filter((code) => code !== 'NO_SCHEMA_FILES' && !covered.has(code));
    assert.deepEqual(missing, []);
  });

  it('names the fixture after the code it provokes', async () => {
    for (const name of fixtures) {
      const text = await readFile(path.join(INVALID, name), 'utf8');
      const codes = new Set(expectations(text).map((e) => e.split(' ')[0]));
      assert.ok(codes.has(path.basename(name, '.graphql')), `${name} does not expect its own code`);
    }
  });
});
