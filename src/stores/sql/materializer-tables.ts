/**
 * The materializer's tables (pure SQL, PostgreSQL and PGlite alike):
 *
 *   skewless.consumer_offsets (group_id, topic, partition, next_offset)   what is committed, per partition
 *   skewless.dead_letters (topic, partition, offset, payload, reason, message, received_at)
 *   skewless.events_<source> (_topic, _partition, _offset, <one typed column per source field>)
 *                                                                          the raw-event archive
 *   skewless.online_outbox (view, entity_key)                              online writes owed
 *
 * Offsets live in PostgreSQL, written in the same transaction as the data they account for: that is what
 * makes a batch count exactly once whatever crashes (a batch is in, offsets included, or not at all).
 * Every table keyed by message position also refuses a second copy of a message, as a second guard.
 */
import type { EventSource } from '../../registry/types.ts';
import type { DeadLetter, SourceEvent } from '../../materializer/decode.ts';
import { toIso } from '../../features/time.ts';
import { SCHEMA, ident, sqlType } from './history.ts';

export const OFFSETS = `${SCHEMA}.consumer_offsets`;
export const DEAD_LETTERS = `${SCHEMA}.dead_letters`;
export const OUTBOX = `${SCHEMA}.online_outbox`;

export function eventsTable(source: string): string {
  return `${SCHEMA}.${ident(`events_${source}`)}`;
}

export function materializerDdl(sources: readonly EventSource[]): string[] {
  return [
    `create schema if not exists ${SCHEMA}`,
    `create table if not exists ${OFFSETS} (group_id text not null, topic text not null, partition integer not null, next_offset bigint not null, updated_at timestamptz not null default now(), primary key (group_id, topic, partition))`,
    `create table if not exists ${DEAD_LETTERS} (topic text not null, partition integer not null, "offset" bigint not null, payload text, reason text not null, message text not null, received_at timestamptz not null default now(), primary key (topic, partition, "offset"))`,
    `create index if not exists dead_letters_reason on ${DEAD_LETTERS} (reason, received_at)`,
    `create table if not exists ${OUTBOX} (view text not null, entity_key text not null, primary key (view, entity_key))`,
    ...sources.flatMap((source) => {
      const table = eventsTable(source.name);
      return [
        `create table if not exists ${table} (_topic text not null, _partition integer not null, _offset bigint not null, primary key (_topic, _partition, _offset))`,
        ...source.fields.map((f) => `alter table ${table} add column if not exists ${ident(f.name)} ${sqlType(f.type)}`),
        `create index if not exists ${ident(`events_${source.name}_time`)} on ${table} (${ident(source.timestampField)})`,
      ];
    }),
  ];
}

/** Locks the partitions' offset rows (creating them at 0) and returns each next offset: `topic/partition` → offset. */
export function lockOffsetsSql(group: string, partitions: readonly { topic: string; partition: number }[]): { insert: { sql: string; params: unknown[] }; select: { sql: string; params: unknown[] } } {
  const params = [group, partitions.map((p) => p.topic), partitions.map((p) => p.partition)];
  return {
    insert: { sql: `insert into ${OFFSETS} (group_id, topic, partition, next_offset) select $1, t, p, 0 from unnest($2::text[], $3::int[]) as u(t, p) on conflict do nothing`, params },
    select: {
      sql: `select topic, partition, next_offset from ${OFFSETS} where group_id = $1 and (topic, partition) in (select * from unnest($2::text[], $3::int[])) order by topic, partition for update`,
      params,
    },
  };
}

export function saveOffsetsSql(group: string, next: readonly { topic: string; partition: number; offset: number }[]): { sql: string; params: unknown[] } {
  return {
    sql: `update ${OFFSETS} o set next_offset = greatest(o.next_offset, u.n), updated_at = now() from unnest($2::text[], $3::int[], $4::bigint[]) as u(t, p, n) where o.group_id = $1 and o.topic = u.t and o.partition = u.p`,
    params: [group, next.map((n) => n.topic), next.map((n) => n.partition), next.map((n) => n.offset)],
  };
}

export function insertDeadLettersSql(letters: readonly DeadLetter[]): { sql: string; params: unknown[] } {
  return {
    sql: `insert into ${DEAD_LETTERS} (topic, partition, "offset", payload, reason, message) select * from unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::text[], $6::text[]) on conflict do nothing`,
    params: [letters.map((d) => d.topic), letters.map((d) => d.partition), letters.map((d) => d.offset), letters.map((d) => d.payload), letters.map((d) => d.reason), letters.map((d) => d.message)],
  };
}

/** One INSERT archiving any number of a source's events, one array parameter per column. */
export function archiveEventsSql(source: EventSource, events: readonly SourceEvent[]): { sql: string; params: unknown[] } {
  const columns = ['_topic', '_partition', '_offset', ...source.fields.map((f) => f.name)];
  const types = ['text[]', 'int[]', 'bigint[]', ...source.fields.map((f) => (sqlType(f.type) === 'jsonb' ? 'text[]' : `${sqlType(f.type)}[]`))];
  const selects = columns.map((c, i) => (i >= 3 && sqlType(source.fields[i - 3]!.type) === 'jsonb' ? `${ident(c)}::jsonb` : ident(c)));
  const params: unknown[][] = [events.map((e) => e.topic), events.map((e) => e.partition), events.map((e) => e.offset)];
  for (const field of source.fields) {
    params.push(
      events.map((e) => {
        const v = e.fields[field.name];
        if (v === null || v === undefined) return null;
        if (sqlType(field.type) === 'jsonb') return JSON.stringify(v);
        return field.type.scalar === 'DateTime' ? toIso(v as number) : v;
      }),
    );
  }
  return {
    sql: `insert into ${eventsTable(source.name)} (${columns.map(ident).join(', ')}) select ${selects.join(', ')} from unnest(${types.map((t, i) => `$${i + 1}::${t}`).join(', ')}) as t(${columns.map(ident).join(', ')}) on conflict do nothing`,
    params,
  };
}

export function addOutboxSql(entries: readonly { view: string; entityKey: string }[]): { sql: string; params: unknown[] } {
  return {
    sql: `insert into ${OUTBOX} (view, entity_key) select * from unnest($1::text[], $2::text[]) on conflict do nothing`,
    params: [entries.map((e) => e.view), entries.map((e) => e.entityKey)],
  };
}

export function clearOutboxSql(entries: readonly { view: string; entityKey: string }[]): { sql: string; params: unknown[] } {
  return {
    sql: `delete from ${OUTBOX} o using unnest($1::text[], $2::text[]) as u(v, k) where o.view = u.v and o.entity_key = u.k`,
    params: [entries.map((e) => e.view), entries.map((e) => e.entityKey)],
  };
}
