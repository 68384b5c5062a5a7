/** The as-of join SQL: one index-walking LATERAL lookup per view, bounds exactly as DESIGN.md states. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Registry } from '../../../src/registry/registry.ts';
import type { RowView } from '../../../src/registry/types.ts';
import { PROBE_CHUNK_ROWS, asOfJoinSql, entityRowsCte } from '../../../src/stores/sql/point-in-time.ts';
import { loadFixtureRegistry } from '../../helpers/repos.ts';

let registry: Registry;
before(async () => {
  registry = await loadFixtureRegistry();
});
const plan = (names: string[], asKnownAt: boolean) => ({
  joinKeys: ['user_id'],
  asKnownAt,
  views: names.map((n) => ({ view: registry.view(n) as RowView, entity: registry.entity('User')!, features: (registry.view(n) as RowView).features.map((f) => f.name) })),
});

describe('asOfJoinSql', () => {
  it('bounds a ttl view on both sides, inclusive, newest by event then created time', () => {
    const sql = asOfJoinSql(plan(['stats_a'], false));
    assert.match(sql, /h\."user_id" = e\."user_id" and h\.event_timestamp <= e\.event_timestamp and h\.event_timestamp >= e\.event_timestamp - interval '3600000 milliseconds'/);
    assert.match(sql, /order by h\.event_timestamp desc, h\.created_timestamp desc, h\._seq desc limit 1\) v0 on true/);
    assert.doesNotMatch(sql, /created_timestamp <=/);
    assert.match(sql, /order by e\._chunk, e\.row_idx$/);
  });

  it('has no lower bound without a ttl, and adds created_timestamp ≤ T as known at T', () => {
    const sql = asOfJoinSql(plan(['stats_c'], true));
    assert.doesNotMatch(sql, /interval/);
    assert.match(sql, /h\.created_timestamp <= e\.event_timestamp/);
  });

  it('probes in key order within chunks, then restores input order chunk by chunk', () => {
    const sql = asOfJoinSql(plan(['stats_a'], false));
    assert.match(sql, new RegExp(`s as \\(select e\\.\\*, e\\.row_idx / ${PROBE_CHUNK_ROWS} as _chunk from e order by e\\.row_idx / ${PROBE_CHUNK_ROWS}, e\\."user_id", e\\.event_timestamp\\)`));
    assert.match(sql, / from s e left join lateral /);
  });

  it('joins each view once, naming results per view', () => {
    const sql = asOfJoinSql(plan(['stats_a', 'stats_b'], false));
    assert.equal(sql.match(/left join lateral/g)?.length, 2);
    assert.match(sql, /v1\."b_label" as "v1_b_label"/);
    assert.match(sql, /v0\.event_timestamp as "v0__ts"/);
  });

  it('sends inline entity rows as one array parameter per column', () => {
    assert.equal(entityRowsCte(['user_id', 'merchant_id'], { kind: 'rows' }), 'e as (select * from unnest($1::integer[], $2::text[], $3::text[], $4::timestamptz[]) as t(row_idx, "user_id", "merchant_id", event_timestamp))');
  });

  it('wraps entitySql as a bounded, numbered source whose rows come back whole', () => {
    const cte = entityRowsCte(['user_id'], { kind: 'sql', sql: 'select * from labels -- trailing comment', limit: 11 });
    assert.match(cte, /^q as \(select \* from labels -- trailing comment\n\), /, 'a trailing comment cannot swallow the closing parenthesis');
    assert.match(cte, /row_number\(\) over \(\) - 1\)::integer as row_idx, q\."user_id"::text as "user_id", q\.event_timestamp::timestamptz as event_timestamp, to_json\(q\) as _row from q limit 11\)$/);
    assert.match(asOfJoinSql(plan(['stats_a'], false), { kind: 'sql', sql: 'select 1', limit: 5 }), /^with q as [\s\S]* e\._row as "__row"/);
  });
});
