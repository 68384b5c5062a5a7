/** Array literals (and JSON arrays) built by hand read back in PostgreSQL (PGlite) as exactly the values they were built from. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pgliteOfflineStore } from '../../../src/stores/pglite/offline.ts';
import type { SqlClient } from '../../../src/stores/sql/client.ts';
import { numberArray, textArray } from '../../../src/stores/sql/pg-array.ts';

describe('array literals', () => {
  let db: SqlClient;
  before(async () => {
    db = await pgliteOfflineStore();
  });
  after(async () => {
    await db.close();
  });

  it('reads back every text as written, quotes, backslashes, separators and "NULL" included', async () => {
    const values = ['plain', '', ' spaced ', 'a,b', '{braces}', 'say "hi"', 'back\\slash', '\\"both"\\', 'NULL', 'null', 'ünï cødé ✓', 'tab\there', 'line\nbreak', 'key\u001fparts', null];
    const [row] = await db.query<{ v: (string | null)[] }>('select $1::text[] as v', [textArray(values)]);
    assert.deepEqual(row!.v, values);
  });

  it('reads back every number exactly, as bigint and as double precision', async () => {
    const doubles = [0, -0.5, 0.1, 1 / 3, 1e21, 5e-324, -1.7976931348623157e308, 2 ** 53, 123456.789, null];
    const [row] = await db.query<{ v: (number | null)[] }>('select $1::float8[] as v', [numberArray(doubles)]);
    assert.deepEqual(row!.v, doubles);
    const ints = [0, -1, 1763719200123, 2 ** 53 - 1];
    const [big] = await db.query<{ v: string[] }>('select $1::bigint[]::text[] as v', [numberArray(ints)]);
    assert.deepEqual(big!.v, ints.map(String));
  });

  it('refuses what is not a finite number', () => {
    assert.throws(() => numberArray([1, Number.NaN]), RangeError);
    assert.throws(() => numberArray([Infinity]), RangeError);
  });
});
