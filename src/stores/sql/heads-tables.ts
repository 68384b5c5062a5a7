/**
 * The heads tables (materializer/heads.ts): `skewless.heads_<view>`, one row per (entity, bucket, commit)
 * holding that commit's events of the entity in the bucket as the online store spells them. Read by
 * historical retrieval and online re-syncs for a window's head; written by every commit and by backfill.
 *
 * They replace the per-view indexes on the archive (`events_<source>_by_<view>`, (join keys, event time)),
 * which took one entry per event and view. The first start of a version with heads creates each view's
 * table and fills it from the archive in SQL, holding materializer commits off meanwhile (the offsets
 * table locked, as backfill does), then drops that view's index (docs/materializer.md#heads).
 */
import { headsBucketWidth } from '../../materializer/heads.ts';
import type { HeadsRow } from '../../materializer/heads.ts';
import { eventInputNames } from '../../materializer/online-retention.ts';
import type { AggregationView, Entity, EventSource, Field } from '../../registry/types.ts';
import { BinaryCopyWriter } from './copy-binary.ts';
import { SCHEMA, ident, literal, sqlType } from './history.ts';

export function headsTable(view: string): string {
  return `${SCHEMA}.${ident(`heads_${view}`)}`;
}

/**
 * The DDL of one view's heads: the table, filled from the archive when it is new, its indexes (by entity
 * and bucket for the reads of one entity; BRIN by bucket for the reads of every entity, as rebuild-online
 * does), and the archive's per-view index dropped. `offsets` is the table every commit locks first.
 */
export function headsDdl(view: AggregationView, entity: Entity, source: EventSource, archive: string, offsets: string): string[] {
  const table = headsTable(view.name);
  const columns = '(entity_key text not null, bucket_start bigint not null, events text not null)';
  return [
    `do $$ begin if to_regclass(${literal(table)}) is null then ` +
      `create table ${table} ${columns}; ` +
      `lock table ${offsets} in share row exclusive mode; ` +
      `${fillHeadsSql(view, entity, source, archive)}; end if; end $$`,
    // Names the table for schema-applied.ts's check that every table still exists.
    `create table if not exists ${table} ${columns}`,
    `create index if not exists ${ident(`heads_${view.name}_entity`)} on ${table} (entity_key, bucket_start)`,
    `create index if not exists ${ident(`heads_${view.name}_bucket_brin`)} on ${table} using brin (bucket_start)`,
    `drop index if exists ${SCHEMA}.${ident(`events_${source.name}_by_${view.name}`)}`,
  ];
}

/**
 * One INSERT that writes the heads of every archived event of the view (range: event times [from, to)
 * as `$1`/`$2` epoch ms when `ranged`, else all), in SQL: the same entity keys and members as
 * materializer/heads.ts builds, but for JSON's spelling of the inputs (`{"amount" : 1.5}`), which every
 * reader parses, and which names no event (a member's event is its time and position, online-pieces.ts).
 */
export function fillHeadsSql(view: AggregationView, entity: Entity, source: EventSource, archive: string, ranged = false): string {
  const width = headsBucketWidth(view);
  const ms = (column: string) => `round(extract(epoch from ${column}) * 1000)::bigint`;
  const time = ms(ident(source.timestampField));
  const keyFields = entity.joinKeys.map((k) => source.fields.find((f) => f.name === k.name)!);
  const keyText = (f: Field) => `${ident(f.name)}::text`;
  // encodeKey: a single key is its own text, several a JSON array of their texts (JSON.stringify's spelling).
  const key = keyFields.length === 1 ? keyText(keyFields[0]!) : `'[' || ${keyFields.map((f) => `to_json(${keyText(f)})::text`).join(` || ',' || `)} || ']'`;
  // joinKeyValue: a key present and, as text, not empty.
  const valid = keyFields.map((f) => `${ident(f.name)} is not null and ${keyText(f)} <> ''`);
  const inputs = eventInputNames(view);
  const json = inputs.length === 0 ? `'{}'` : `json_build_object(${inputs.map((name) => `${literal(name)}, ${inputValue(source.fields.find((f) => f.name === name)!)}`).join(', ')})::text`;
  const member = `${time}::text || ':' || _topic || '/' || _partition || '/' || _offset || '|' || ${json} || chr(10)`;
  const where = [`${ident(source.timestampField)} is not null`, ...valid];
  if (ranged) where.push(`($1::bigint is null or ${time} >= $1)`, `($2::bigint is null or ${time} < $2)`);
  return (
    `insert into ${headsTable(view.name)} (entity_key, bucket_start, events) ` +
    `select k, b, string_agg(m, '') from (select ${key} as k, floor(${time}::numeric / ${width})::bigint * ${width} as b, ${member} as m ` +
    `from ${archive} where ${where.join(' and ')}) e group by k, b`
  );
}

/** An input as its online member's JSON holds it: a DateTime as epoch milliseconds, anything else as stored. */
function inputValue(field: Field): string {
  return sqlType(field.type) === 'timestamptz' ? `round(extract(epoch from ${ident(field.name)}) * 1000)::bigint` : ident(field.name);
}

/** Heads rows as binary COPY data, with the COPY target. */
export function headsCopy(view: AggregationView, rows: readonly HeadsRow[]): { target: string; data: Buffer } {
  const writer = new BinaryCopyWriter(64 + rows.reduce((n, r) => n + 32 + r.entityKey.length + r.events.length, 0));
  for (const row of rows) writer.row(3).text(row.entityKey).int64(row.bucketStart).text(row.events);
  return { target: `${headsTable(view.name)} (entity_key, bucket_start, events)`, data: writer.finish() };
}

/**
 * The heads rows of (entity key, bucket start in [from, to)), per numbered range: `$1` range numbers,
 * `$2` entity keys, `$3`/`$4` bucket bounds. A LATERAL lookup per range on the (entity, bucket) index.
 */
export function headsSql(view: AggregationView): string {
  return (
    `select r.i as "__r", h.events from unnest($1::int[], $2::text[], $3::bigint[], $4::bigint[]) as r(i, k, s, e) ` +
    `cross join lateral (select events from ${headsTable(view.name)} where entity_key = r.k and bucket_start >= r.s and bucket_start < r.e offset 0) h`
  );
}
