/** docs/configuration.md has a row for every setting with its flag, environment variable and default. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { it } from 'node:test';
import { SETTINGS } from '../../../src/config/settings.ts';
import { ROOT } from '../../helpers/paths.ts';

it('documents every setting with its flag, environment variable and default', async () => {
  const doc = await readFile(path.join(ROOT, 'docs/configuration.md'), 'utf8');
  for (const spec of Object.values(SETTINGS)) {
    const row = doc.split('\n').find((line) => line.startsWith(`| \`--${spec.flag} `));
    assert.ok(row, `no row for --${spec.flag}`);
    assert.ok(row.includes(`| \`${spec.env}\` |`), `--${spec.flag}: environment variable ${spec.env}`);
    const dflt = 'default' in spec ? `\`${spec.default}\`` : 'unset';
    assert.ok(row.includes(`| ${dflt}`), `--${spec.flag}: default ${dflt}`);
  }
});
