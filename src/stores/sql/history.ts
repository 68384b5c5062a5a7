/**
 * SQL for feature history tables, one per row view. Pure: the same statements run on PostgreSQL and PGlite.
 *
 *   skewless.history_<view> (<join keys> text, event_timestamp timestamptz, created_timestamp timestamptz,
 *                            _seq bigserial (write order), <one typed column per feature>)
 *   index (<join keys>, event_timestamp desc, created_timestamp desc, _seq desc)
 *
 * The index serves the as-of join historical retrieval runs: for each (entity, T), the newest row with
 * event_timestamp ≤ T is the first index entry at or after (key, T) in descending order. Rows are only
 * ever appended: history is the source of truth, and the online store is derived from it.
 */
import type { Entity, FieldType, RowView } from '../../registry/types.ts';
import type { FeatureRow } from '../../ingest/rows.ts';
import { toIso } from '../../features/time.ts';

export const SCHEMA = 'skewless';

/**
 * A name as a quoted identifier. Registry names are lower snake case or GraphQL names, neither of which can
 * hold a `"`; it is doubled anyway, so the quoting holds whatever a future caller passes.
 */
export const ident = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/**
 * A string constant, for DDL, where parameters cannot go: `'` doubled. Plain `'…'` strings read a
 * backslash literally (standard_conforming_strings, on by default since PostgreSQL 9.1).
 */
export const literal = (value: string): string => `'${value.replaceAll("'", "''")}'`;

export function historyTable(view: string): string {
  return `${SCHEMA}.${ident(`history_${view}`)}`;
}

export function sqlType(type: FieldType): string {
  if (type.list) return 'jsonb';
  switch (type.scalar) {
    case 'Int':
      return 'integer';
    case 'Float':
      return 'double precision';
    case 'Boolean':
      return 'boolean';
    case 'DateTime':
      return 'timestamptz';
    case 'JSON':
      return 'jsonb';
    case 'String':
    case 'ID':
      return 'text';
  }
}

/** Statements creating or extending one view's history table; each is idempotent. */
export function historyDdl(view: RowView, entity: Entity): string[] {
  const table = historyTable(view.name);
  const keys = entity.joinKeys.map((k) => `${ident(k.name)} text not null`);
  return [
    `create schema if not exists ${SCHEMA}`,
    `create table if not exists ${table} (${[...keys, 'event_timestamp timestamptz not null', 'created_timestamp timestamptz not null'].join(', ')})`,
    // Write order: rows equal on both timestamps resolve to the later write, as they do online.
    `alter table ${table} add column if not exists _seq bigserial`,
    // Features added to the view later become new nullable columns; old rows read them as null.
    ...view.features.map((f) => `alter table ${table} add column if not exists ${ident(f.name)} ${sqlType(f.type)}`),
    `create index if not exists ${ident(`history_${view.name}_asof`)} on ${table} (${[...entity.joinKeys.map((k) => ident(k.name)), 'event_timestamp desc', 'created_timestamp desc', '_seq desc'].join(', ')})`,
  ];
}

/**
 * One INSERT for any number of rows: each column is sent as one array parameter and unnested, so a
 * batch costs one statement and one round trip whatever its size.
 */
export function appendHistory(view: RowView, entity: Entity, rows: readonly FeatureRow[]): { sql: string; params: unknown[][] } {
  const columns = [...entity.joinKeys.map((k) => k.name), 'event_timestamp', 'created_timestamp', ...view.features.map((f) => f.name)];
  const arrayTypes = [
    ...entity.joinKeys.map(() => 'text[]'),
    'timestamptz[]',
    'timestamptz[]',
    // jsonb travels as text and is cast per value: arrays of jsonb do not round-trip as parameters.
    ...view.features.map((f) => (sqlType(f.type) === 'jsonb' ? 'text[]' : `${sqlType(f.type)}[]`)),
  ];
  const selects = columns.map((c, i) => (i >= entity.joinKeys.length + 2 && sqlType(view.features[i - entity.joinKeys.length - 2]!.type) === 'jsonb' ? `${ident(c)}::jsonb` : ident(c)));
  const sql =
    `insert into ${historyTable(view.name)} (${columns.map(ident).join(', ')}) ` +
    `select ${selects.join(', ')} from unnest(${arrayTypes.map((t, i) => `$${i + 1}::${t}`).join(', ')}) as t(${columns.map(ident).join(', ')})`;
  const params: unknown[][] = columns.map(() => []);
  for (const row of rows) {
    let c = 0;
    for (const v of row.keyValues) params[c++]!.push(v);
    params[c++]!.push(toIso(row.eventTs));
    params[c++]!.push(toIso(row.createdTs));
    for (const f of view.features) params[c++]!.push(sqlValue(f.type, row.values[f.name]));
  }
  return { sql, params };
}

function sqlValue(type: FieldType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (sqlType(type) === 'jsonb') return JSON.stringify(value);
  if (type.scalar === 'DateTime') return toIso(value as number);
  return value;
}

/**
 * The newest row per entity (by event time, then created time, then write order: the order the online
 * store keeps), for the given encoded join key values, or for every entity when `keys` is undefined.
 * What the online store must hold for a row view, derived from history: how a lost online write is
 * made good.
 */
export function newestRowsSql(view: RowView, entity: Entity, keys: readonly (readonly string[])[] | undefined): { sql: string; params: unknown[] } {
  const keyColumns = entity.joinKeys.map((k) => ident(k.name));
  const where = keys === undefined ? '' : ` where (${keyColumns.join(', ')}) in (select * from unnest(${entity.joinKeys.map((_, i) => `$${i + 1}::text[]`).join(', ')}))`;
  return {
    sql:
      `select distinct on (${keyColumns.join(', ')}) ${[...keyColumns, 'event_timestamp', 'created_timestamp', ...view.features.map((f) => ident(f.name))].join(', ')} ` +
      `from ${historyTable(view.name)}${where} order by ${keyColumns.join(', ')}, event_timestamp desc, created_timestamp desc, _seq desc`,
    params: keys === undefined ? [] : entity.joinKeys.map((_, i) => keys.map((k) => k[i]!)),
  };
}
