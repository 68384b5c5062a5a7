/** docs/schema.md documents every directive, every argument and every validation code. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FIELD_DIRECTIVES, TYPE_DIRECTIVES } from '../../../src/registry/directives.ts';
import { PROBLEM_CODES } from '../../../src/registry/problems.ts';
import { AGGREGATE_FUNCTIONS } from '../../../src/registry/types.ts';
import { ROOT } from '../../helpers/paths.ts';

const doc = await readFile(path.join(ROOT, 'docs/schema.md'), 'utf8');

describe('docs/schema.md', () => {
  it('has a section for every directive listing each of its arguments', () => {
    for (const [name, args] of Object.entries({ ...TYPE_DIRECTIVES, ...FIELD_DIRECTIVES })) {
      const heading = new RegExp(`^### \`@${name}\\(([^)]*)\\)`, 'm').exec(doc);
      assert.ok(heading, `no section for @${name}`);
      for (const arg of Object.keys(args)) assert.match(heading[1]!, new RegExp(`\\b${arg}:`), `@${name}(${arg}:) undocumented`);
    }
  });

  it('explains every validation code', () => {
    for (const code of Object.keys(PROBLEM_CODES)) assert.match(doc, new RegExp(`^\\| \`${code}\` \\|`, 'm'), code);
  });

  it('describes every aggregation function', () => {
    for (const fn of AGGREGATE_FUNCTIONS) assert.ok(doc.includes(`\`${fn}\``), fn);
  });
});
