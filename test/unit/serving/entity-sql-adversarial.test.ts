/**
 * checkEntitySql against attempts to write, read files, run SQL text or change settings, including the
 * quoting and comment tricks that fooled its first version; and queries that only look dangerous.
 * The same lists run end to end in test/e2e/entity-sql-adversarial.suite.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkEntitySql } from '../../../src/stores/sql/entity-sql.ts';
import { ATTACKS, LEGITIMATE } from '../../fixtures/entity-sql/attacks.ts';

describe('checkEntitySql against hostile queries', () => {
  for (const attack of ATTACKS) {
    it(`refuses ${attack.name}`, () => {
      const result = checkEntitySql(attack.sql('public.canary'));
      assert.equal(result.ok, false, `accepted: ${attack.sql('public.canary')}`);
      assert.match((result as { reason: string }).reason, attack.reason);
    });
  }

  for (const query of LEGITIMATE) {
    it(`accepts ${query.name}`, () => {
      const result = checkEntitySql(query.sql('public.canary'));
      assert.ok(result.ok, result.ok ? '' : result.reason);
    });
  }

  it('hands on the query without its trailing semicolon, comment after it or surrounding whitespace', () => {
    assert.deepEqual(checkEntitySql('\n select 1 ; -- done\n'), { ok: true, sql: 'select 1' });
    assert.deepEqual(checkEntitySql('select 1 -- no semicolon'), { ok: true, sql: 'select 1 -- no semicolon' });
    // JavaScript's trim would remove U+00A0, which the server reads as a letter of the name before it.
    assert.deepEqual(checkEntitySql('select x\u00a0'), { ok: true, sql: 'select x\u00a0' });
  });

  it('refuses a forbidden function however it is named: bare, qualified, quoted, escaped or as an attribute', () => {
    for (const name of ['set_config', 'lo_import', 'dblink_connect', 'pg_ls_waldir', 'pg_replication_origin_create', 'pg_create_logical_replication_slot']) {
      for (const sql of [`select ${name}(1)`, `select pg_catalog.${name}(1)`, `select "${name}"(1)`, `select (1).${name}`, `select U&"\\00${name.charCodeAt(0).toString(16)}${name.slice(1)}"(1)`]) {
        const result = checkEntitySql(sql);
        assert.equal(result.ok, false, sql);
        assert.match((result as { reason: string }).reason, new RegExp(`function ${name}\\(\\) is not allowed`), sql);
      }
    }
  });

  it('allows columns whose names only start like a forbidden function', () => {
    for (const sql of ['select lo_price, lower_bound, settings, reset_count, pg_version_note from t', 'select "copy", "into" from t']) {
      assert.ok(checkEntitySql(sql).ok, sql);
    }
  });
});
