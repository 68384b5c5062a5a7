/** The generated transform types in the repository match what codegen writes from the registry today. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { generateTransformTypes } from '../../../src/transforms/codegen.ts';
import { EXAMPLE_DIRS, ROOT } from '../../helpers/paths.ts';
import { SERVING_DIRS, loadFixtureRegistry } from '../../helpers/repos.ts';

const REPOS = [EXAMPLE_DIRS, SERVING_DIRS];

describe('skewless codegen', () => {
  for (const dirs of REPOS) {
    it(`is up to date in ${path.relative(ROOT, dirs.transformsDir)} (run npm run skewless -- codegen if not)`, async () => {
      const files = generateTransformTypes(await loadFixtureRegistry(dirs));
      assert.ok(files.size > 0);
      for (const [file, text] of files) assert.equal(await readFile(path.join(dirs.transformsDir, file), 'utf8'), text, file);
    });
  }

  it('types stored inputs as nullable, request fields and outputs as declared, timestamps as epoch ms', async () => {
    const text = generateTransformTypes(await loadFixtureRegistry(SERVING_DIRS)).get('generated/score.ts')!;
    assert.match(text, /readonly amount: number;\n/);
    assert.match(text, /readonly note: string \| null;/);
    assert.match(text, /readonly a_int: number \| null;/);
    assert.match(text, /export interface ScoreOutput \{[\s\S]*readonly has_a: boolean;[\s\S]*readonly as_of: number;/);
  });
});
