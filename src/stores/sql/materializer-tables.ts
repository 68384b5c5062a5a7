/**
 * The materializer's tables (pure SQL, PostgreSQL and PGlite alike):
 *
 *   skewless.consumer_offsets (group_id, topic, partition, next_offset)   what is committed, per partition
 *   skewless.dead_letters (topic, partition, offset, payload, reason, message, received_at)
 *   skewless.events_<source> (_topic, _partition, _offset, <one typed column per source field>)
 *                                                                          the raw-event archive
 *   skewless.archive_marks (source, topic, partition, next_offset)         per partition, the offset below
 *                                                                          which the archive may already
 *                                                                          hold a message (any group's)
 *   skewless.online_owed (token, view, entity_keys jsonb)                 online writes owed: one row per
 *                                                                          commit and view, deleted once made
 *   skewless.online_outbox (view, entity_key, token)                       the same, one row per entity, as
 *                                                                          Skewless before 0.8 wrote it (read
 *                                                                          and emptied by flushOutbox)
 *   skewless.tiles_<view> (entity_key, width, tile_start, partial text, version)
 *                                                                          aggregation partials per tile:
 *                                                                          one row per (entity, tile) for the
 *                                                                          view's features of one hop (width),
 *                                                                          partial = {feature: its partial}
 *                                                                          as JSON text
 *   skewless.slices_<view> (same columns)                                  the same per slice of recent
 *                                                                          head tiles, for the online store
 *
 * Offsets live in PostgreSQL, written in the same transaction as the data they account for: that is what
 * makes a batch count exactly once whatever crashes (a batch is in, offsets included, or not at all).
 * Every table keyed by message position also refuses a second copy of a message, as a second guard.
 */
import type { AggregationView, Entity, EventSource, Field } from '../../registry/types.ts';
import type { DeadLetter, SourceEvent } from '../../materializer/decode.ts';
import type { PieceKind } from '../../materializer/tiles.ts';
import { SCHEMA, ident, literal, sqlType } from './history.ts';
import { numberArray, textArray } from './pg-array.ts';
import { BinaryCopyWriter } from './copy-binary.ts';
import { headsDdl } from './heads-tables.ts';
import { PartialsRowError } from '../../features/aggregate/aggregator.ts';

export const OFFSETS = `${SCHEMA}.consumer_offsets`;
export const DEAD_LETTERS = `${SCHEMA}.dead_letters`;
export const OUTBOX = `${SCHEMA}.online_owed`;
export const ARCHIVE_MARKS = `${SCHEMA}.archive_marks`;
/** The per-entity outbox of earlier versions: only read (and emptied) when the online store is made good. */
export const LEGACY_OUTBOX = `${SCHEMA}.online_outbox`;

export function eventsTable(source: string): string {
  return `${SCHEMA}.${ident(`events_${source}`)}`;
}

export function tilesTable(view: string): string {
  return `${SCHEMA}.${ident(`tiles_${view}`)}`;
}

/** Slices of recent head tiles (online-pieces.ts): what the online store needs to end a window exactly at T. */
export function slicesTable(view: string): string {
  return `${SCHEMA}.${ident(`slices_${view}`)}`;
}

/** Which table a piece kind lives in. */
export function piecesTable(kind: PieceKind, view: string): string {
  return kind === 'tile' ? tilesTable(view) : slicesTable(view);
}

/**
 * The type of a pieces table's `partial` column: text, the JSON as the materializer wrote it. Every reader
 * takes a row whole (the materializer, a backfill, online re-syncs, and historical retrieval, which parses
 * each tile once for all the features it needs), so PostgreSQL has no reason to parse it. As jsonb it
 * parsed every row a commit rewrites: 82 against 11 ms for 10,000 tile rows, and PostgreSQL's CPU per
 * event in the bench about 15% more; and a sketch's partial was tripled in size by jsonb's numerics and
 * then compressed (docs/benchmarks.md). Earlier versions made both tables jsonb (piecesAsText).
 */
export const PARTIAL_TYPE = 'text';

/** A `partial` column as the driver returns it: text as written, or (read from a jsonb column) parsed. */
export type StoredPartial = string | { readonly [feature: string]: unknown };

/**
 * A row's partials by feature, from its `partial` column of either type. A text that is not a JSON object
 * (PostgreSQL does not check text; only the materializer writes it) is CORRUPT_PARTIAL, like a partial its
 * aggregator cannot decode.
 */
export function storedPartials(column: StoredPartial): { readonly [feature: string]: unknown } {
  if (typeof column !== 'string') return column;
  let parsed: unknown;
  try {
    parsed = JSON.parse(column);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new PartialsRowError(column);
  }
  return parsed as { readonly [feature: string]: unknown };
}

/** A row's partials as JSON text, from its `partial` column of either type: a slice's as written. */
export function storedPartialText(column: StoredPartial): string {
  return typeof column === 'string' ? column : JSON.stringify(column);
}

/**
 * Separates the partials of a pieces statement's one text parameter: JSON text never holds it raw
 * (JSON.stringify escapes every control character), so splitting on it needs no escaping, where a text[]
 * literal would have to escape every quote inside every element.
 */
const PARTIALS_SEPARATOR = '\u001e';

/** Rows' partials as one parameter: the texts joined by PARTIALS_SEPARATOR. */
function partialsParam(texts: readonly string[]): string {
  return texts.join(PARTIALS_SEPARATOR);
}

/** The set-returning expression that unpacks partialsParam's parameter `$n` into one partial per row. */
function partialsRows(n: number): string {
  return `unnest(string_to_array($${n}::text, chr(30)))`;
}

/**
 * How full PostgreSQL packs a new page of tiles or slices (percent). Every commit rewrites the rows it
 * merges; an update that finds room on its row's page is a HOT update (no new primary-key entry, dead
 * versions pruned in place), one that does not moves the row and adds an index entry. Slices are rewritten
 * while their tile is the head and pruned soon after, so half of each page is left for their next
 * versions. Tiles are kept for good, so they leave less: the space is held by every tile ever written.
 */
const PIECES_FILLFACTOR: { readonly [kind in 'tile' | 'slice']: number } = { tile: 80, slice: 50 };

export function materializerDdl(sources: readonly EventSource[], views: readonly AggregationView[], entities: ReadonlyMap<string, Entity>): string[] {
  return [
    `create schema if not exists ${SCHEMA}`,
    `create table if not exists ${OFFSETS} (group_id text not null, topic text not null, partition integer not null, next_offset bigint not null, updated_at timestamptz not null default now(), primary key (group_id, topic, partition))`,
    `create table if not exists ${DEAD_LETTERS} (topic text not null, partition integer not null, "offset" bigint not null, payload text, reason text not null, message text not null, received_at timestamptz not null default now(), primary key (topic, partition, "offset"))`,
    `create index if not exists dead_letters_reason on ${DEAD_LETTERS} (reason, received_at)`,
    // One row per commit and view, whatever the number of entities: a commit's outbox costs one insert and
    // one delete, not one row per entity (which cost about 6 µs per event at 20k events/s).
    `create table if not exists ${OUTBOX} (token text not null, view text not null, entity_keys jsonb not null, owed_at timestamptz not null default now(), primary key (token, view))`,
    `create table if not exists ${LEGACY_OUTBOX} (view text not null, entity_key text not null, primary key (view, entity_key))`,
    `alter table ${LEGACY_OUTBOX} add column if not exists token text not null default ''`,
    `create table if not exists ${ARCHIVE_MARKS} (source text not null, topic text not null, partition integer not null, next_offset bigint not null, primary key (source, topic, partition))`,
    // The newest event time archived in the partition (null: none), moved with the mark: a source's
    // freshness reads it here, not as max() over the archive, whose time index cannot answer a max.
    `alter table ${ARCHIVE_MARKS} add column if not exists newest_event_time timestamptz`,
    ...sources.flatMap((source) => {
      const table = eventsTable(source.name);
      const ts = ident(source.timestampField);
      return [
        `create table if not exists ${table} (_topic text not null, _partition integer not null, _offset bigint not null, primary key (_topic, _partition, _offset))`,
        ...source.fields.map((f) => `alter table ${table} add column if not exists ${ident(f.name)} ${sqlType(f.type)}`),
        // Marks an earlier Skewless wrote have no newest event time: read once from the archive.
        `update ${ARCHIVE_MARKS} m set newest_event_time = ${newestArchivedSql(source, 'm.topic', 'm.partition')} where m.source = ${literal(source.name)} and m.newest_event_time is null`,
        // A BRIN index for time ranges (backfill, rebuild-online, data quality): events arrive in about
        // time order, so each 128-page block range spans a short time. A btree on the time column cost
        // PostgreSQL about 1 µs more per archived event (0.05-2.15, docs/benchmarks.md) and ~1,000 times
        // the space. Earlier versions made that btree: it is dropped.
        `drop index if exists ${SCHEMA}.${ident(`events_${source.name}_time`)}`,
        `create index if not exists ${ident(`events_${source.name}_time_brin`)} on ${table} using brin (${ts}) with (autosummarize = on)`,
      ];
    }),
    ...views.flatMap((view) => {
      const source = sources.find((s) => s.name === view.source)!;
      const entity = entities.get(view.entity)!;
      return [
        ...(['tile', 'slice'] as const).flatMap((kind) => [
          outdatedLayoutCheck(`${kind}s_${view.name}`, view.name),
          // version: incremented by every merge; the online store keeps a piece only if its version is newer.
          `create table if not exists ${piecesTable(kind, view.name)} (entity_key text not null, width bigint not null, tile_start bigint not null, partial ${PARTIAL_TYPE} not null, version bigint not null default 0, primary key (entity_key, width, tile_start))`,
          // Earlier versions made these jsonb: each row keeps its JSON (in jsonb's own spelling).
          piecesAsText(kind, view.name),
          // Also for tables an earlier version created: it applies to pages filled from now on.
          `alter table ${piecesTable(kind, view.name)} set (fillfactor = ${PIECES_FILLFACTOR[kind]})`,
        ]),
        // The head of a window is read from the view's heads (heads-tables.ts), filled from the archive once.
        ...headsDdl(view, entity, source, eventsTable(source.name), OFFSETS),
      ];
    }),
  ];
}

/**
 * Turns a tiles or slices table's jsonb partial column, as earlier versions made it, into text
 * (PARTIAL_TYPE). PostgreSQL rewrites the table, holding it locked meanwhile: once, on the first start
 * after the upgrade (docs/materializer.md#partials-as-text).
 */
function piecesAsText(kind: PieceKind, view: string): string {
  return (
    `do $$ begin if exists (select 1 from information_schema.columns where table_schema = ${literal(SCHEMA)} and table_name = ${literal(`${kind}s_${view}`)} and column_name = 'partial' and data_type = 'jsonb') ` +
    `then alter table ${piecesTable(kind, view)} alter column partial type text using partial::text; end if; end $$`
  );
}

/**
 * Refuses a tiles or slices table in the one-row-per-feature layout of Skewless before 0.7 (a `feature`
 * column): its rows cannot be read as they are, and they can be recomputed from the archive.
 */
function outdatedLayoutCheck(table: string, view: string): string {
  const message = `${SCHEMA}.${table} has the tile layout of an earlier Skewless (one row per feature). Drop ${SCHEMA}.tiles_${view} and ${SCHEMA}.slices_${view}, then run: skewless backfill ${view}`;
  return (
    `do $$ begin if exists (select 1 from information_schema.columns where table_schema = ${literal(SCHEMA)} and table_name = ${literal(table)} and column_name = 'feature') ` +
    `then raise exception '%', ${literal(message)} using errcode = 'object_not_in_prerequisite_state'; end if; end $$`
  );
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

/**
 * Dead letters keep their raw payload as text. PostgreSQL text cannot hold U+0000, so a payload with a raw
 * NUL in it (which is never valid JSON, so MALFORMED) keeps it as the six characters `\u0000`: storing the
 * letter must not fail the batch it is set aside from.
 */
export function insertDeadLettersSql(letters: readonly DeadLetter[]): { sql: string; params: unknown[] } {
  const storable = (text: string | null) => (text === null ? null : text.replaceAll('\u0000', '\\u0000'));
  return {
    sql: `insert into ${DEAD_LETTERS} (topic, partition, "offset", payload, reason, message) select * from unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::text[], $6::text[]) on conflict do nothing`,
    params: [letters.map((d) => d.topic), letters.map((d) => d.partition), letters.map((d) => d.offset), letters.map((d) => storable(d.payload)), letters.map((d) => d.reason), letters.map((d) => storable(d.message))],
  };
}

/**
 * Locks a source's archive marks for the partitions given (in key order, as every writer does), creating a
 * missing one at the archive's own highest offset + 1 for that partition: an archive written before marks
 * existed is covered from the start.
 */
export function lockArchiveMarksSql(source: EventSource, partitions: readonly { topic: string; partition: number }[]): { insert: { sql: string; params: unknown[] }; select: { sql: string; params: unknown[] } } {
  const params = [source.name, partitions.map((p) => p.topic), partitions.map((p) => p.partition)];
  return {
    insert: {
      sql:
        `insert into ${ARCHIVE_MARKS} (source, topic, partition, next_offset, newest_event_time) select $1, t, p, ` +
        `coalesce((select max(_offset) + 1 from ${eventsTable(source.name)} where _topic = t and _partition = p), 0), ${newestArchivedSql(source, 't', 'p')} ` +
        `from unnest($2::text[], $3::int[]) as u(t, p) on conflict do nothing`,
      params,
    },
    select: {
      sql: `select topic, partition, next_offset from ${ARCHIVE_MARKS} where source = $1 and (topic, partition) in (select * from unnest($2::text[], $3::int[])) order by topic, partition for update`,
      params,
    },
  };
}

/** The newest event time a source's archive holds for the partition the two SQL expressions name. */
function newestArchivedSql(source: EventSource, topic: string, partition: string): string {
  return `(select max(${ident(source.timestampField)}) from ${eventsTable(source.name)} where _topic = ${topic} and _partition = ${partition})`;
}

/**
 * Moves a source's marks past the offsets just archived, and their newest event times up to the newest
 * just archived (neither ever back); its parameters start at `$first`.
 */
export function advanceArchiveMarksSql(source: string, next: readonly ArchivedSpan[], first = 1): { sql: string; params: unknown[] } {
  const [s, t, p, n, w] = [first, first + 1, first + 2, first + 3, first + 4];
  return {
    sql:
      `update ${ARCHIVE_MARKS} m set next_offset = greatest(m.next_offset, u.n), newest_event_time = greatest(m.newest_event_time, timestamptz 'epoch' + u.w * interval '1 millisecond') ` +
      `from unnest($${t}::text[], $${p}::int[], $${n}::bigint[], $${w}::float8[]) as u(t, p, n, w) where m.source = $${s} and m.topic = u.t and m.partition = u.p`,
    params: [source, next.map((x) => x.topic), next.map((x) => x.partition), next.map((x) => x.offset), next.map((x) => x.newest)],
  };
}

/** What a batch archived in one partition: where its mark moves to, and its newest event time. */
export interface ArchivedSpan {
  readonly topic: string;
  readonly partition: number;
  /** The last offset archived + 1. */
  readonly offset: number;
  /** The newest event time archived, epoch ms. */
  readonly newest: number;
}

/** How a source field travels into the archive: its SQL array element kind. */
type ArchiveKind = 'text' | 'number' | 'time' | 'json' | 'boolean';

function archiveKind(field: Field): ArchiveKind {
  if (sqlType(field.type) === 'jsonb') return 'json';
  switch (field.type.scalar) {
    case 'DateTime':
      return 'time';
    case 'Int':
    case 'Float':
      return 'number';
    case 'Boolean':
      return 'boolean';
    default:
      return 'text';
  }
}

/** The archive's columns: the message position, then the source's fields. */
function archiveColumns(source: EventSource): string[] {
  return ['_topic', '_partition', '_offset', ...source.fields.map((f) => f.name)];
}

/**
 * One INSERT archiving any number of a source's events that another consumer group may have archived
 * already (some sit below their partition's archive mark): `on conflict do nothing`, returning the positions
 * it archived, the events no other group archived (and folded) first. One array parameter per column,
 * built by pg-array.ts; DateTime values go as epoch milliseconds and become timestamps in SQL.
 *
 * The statement also moves the source's archive `marks` past the events (a data-modifying WITH, so the
 * insert is one round trip: node-postgres sends a statement only once the one before it has answered).
 *
 * Events all at or past their marks cannot be in the archive yet, and go in by COPY instead (archiveCopy):
 * no speculative insertion into the position key, no array literals to parse. Should a copy be there
 * after all, the key refuses it and the transaction fails: loud, never a double count.
 */
export function archiveEventsSql(source: EventSource, events: readonly SourceEvent[], marks: readonly ArchivedSpan[]): { sql: string; params: unknown[] } {
  const columns = archiveColumns(source);
  const kinds = source.fields.map(archiveKind);
  const types = ['text[]', 'int[]', 'bigint[]', ...source.fields.map((f, i) => (kinds[i] === 'json' ? 'text[]' : kinds[i] === 'time' ? 'float8[]' : `${sqlType(f.type)}[]`))];
  const selects = columns.map((c, i) => {
    const kind = i >= 3 ? kinds[i - 3] : undefined;
    if (kind === 'json') return `${ident(c)}::jsonb`;
    if (kind === 'time') return `timestamptz 'epoch' + ${ident(c)} * interval '1 millisecond'`;
    return ident(c);
  });
  const params: string[] = [textArray(events.map((e) => e.topic)), numberArray(events.map((e) => e.partition)), numberArray(events.map((e) => e.offset))];
  source.fields.forEach((field, i) => {
    const values = events.map((e) => e.fields[field.name]);
    const kind = kinds[i];
    if (kind === 'number' || kind === 'time') params.push(numberArray(values as (number | null | undefined)[]));
    else if (kind === 'json') params.push(textArray(values.map((v) => (v === null || v === undefined ? null : JSON.stringify(v)))));
    else params.push(textArray(values.map((v) => (v === null || v === undefined ? null : String(v)))));
  });
  const insert = `insert into ${eventsTable(source.name)} (${columns.map(ident).join(', ')}) select ${selects.join(', ')} from unnest(${types.map((t, i) => `$${i + 1}::${t}`).join(', ')}) as t(${columns.map(ident).join(', ')}) on conflict do nothing returning _topic, _partition, _offset`;
  const move = advanceArchiveMarksSql(source.name, marks, params.length + 1);
  return { sql: `with moved_marks as (${move.sql}) ${insert}`, params: [...params, ...move.params] };
}

/**
 * A source's events as binary COPY data for its archive (copy-binary.ts), with the COPY target: for events
 * none of which can be archived yet (at or past their marks). The archive marks are moved by a statement
 * of their own (advanceArchiveMarksSql).
 */
export function archiveCopy(source: EventSource, events: readonly SourceEvent[]): { target: string; data: Buffer } {
  const fields = source.fields.map((f) => ({ name: f.name, kind: archiveKind(f), int: f.type.scalar === 'Int' && !f.type.list }));
  // About 100 bytes per event for the example's source; the writer grows if that is short.
  const writer = new BinaryCopyWriter(64 + events.length * (40 + 24 * fields.length));
  const count = 3 + fields.length;
  for (const e of events) {
    writer.row(count).text(e.topic).int32(e.partition).int64(e.offset);
    for (const field of fields) {
      const v = e.fields[field.name];
      if (v === null || v === undefined) writer.null();
      else if (field.kind === 'time') writer.timestampMs(v as number);
      else if (field.kind === 'number') {
        if (field.int) writer.int32(v as number);
        else writer.float64(v as number);
      } else if (field.kind === 'json') writer.jsonb(JSON.stringify(v));
      else if (field.kind === 'boolean') writer.boolean(v as boolean);
      else writer.text(String(v));
    }
  }
  return { target: `${eventsTable(source.name)} (${archiveColumns(source).map(ident).join(', ')})`, data: writer.finish() };
}

/** What one commit owes online: the entities of each view it wrote, under the commit's `token`. */
export function addOutboxSql(owed: ReadonlyMap<string, readonly string[]>, token: string): { sql: string; params: unknown[] } {
  return {
    sql: `insert into ${OUTBOX} (token, view, entity_keys) select $1, v, k::jsonb from unnest($2::text[], $3::text[]) as u(v, k)`,
    params: [token, [...owed.keys()], [...owed.values()].map((keys) => JSON.stringify(keys))],
  };
}

/**
 * Clears what the commits of `tokens` owed. What a later commit owes (the same entities, perhaps) is under
 * its own token and stays: with online writes of consecutive commits overlapping (or two materializers
 * sharing an entity), an earlier write must not clear what a later one still owes.
 */
export function clearOutboxSql(tokens: readonly string[]): { sql: string; params: unknown[] } {
  return { sql: `delete from ${OUTBOX} where token = any($1::text[])`, params: [tokens] };
}

/**
 * Every entity owed, by any commit: new-style rows and entries an earlier version left. With `olderThanMs`,
 * only rows owed at least that long ago (by the database's clock): those whose commit's own online write
 * should long have finished.
 */
export function owedSql(olderThanMs?: number): { sql: string; params: unknown[] } {
  return {
    sql:
      `select o.view, k.value as entity_key, o.token from ${OUTBOX} o cross join lateral jsonb_array_elements_text(o.entity_keys) as k(value) ` +
      `where $1::float8 is null or o.owed_at < now() - $1::float8 * interval '1 millisecond' ` +
      `union all select view, entity_key, token from ${LEGACY_OUTBOX}`,
    params: [olderThanMs ?? null],
  };
}

/** Clears entries of the per-entity outbox an earlier version left, each under the token it was owed with. */
export function clearLegacyOutboxSql(entries: readonly OutboxEntry[]): { sql: string; params: unknown[] } {
  return {
    sql: `delete from ${LEGACY_OUTBOX} o using unnest($1::text[], $2::text[], $3::text[]) as u(v, k, t) where o.view = u.v and o.entity_key = u.k and o.token = u.t`,
    params: [entries.map((e) => e.view), entries.map((e) => e.entityKey), entries.map((e) => e.token)],
  };
}

export interface OutboxEntry {
  readonly view: string;
  readonly entityKey: string;
  readonly token: string;
}

/** Where a stored tile or slice is: the entity, the piece width (the group's hop, or its slice width) and the start. */
export interface PieceKey {
  readonly entityKey: string;
  readonly width: number;
  readonly start: number;
}

const keyColumns = (pieces: readonly PieceKey[]) => [textArray(pieces.map((p) => p.entityKey)), numberArray(pieces.map((p) => p.width)), numberArray(pieces.map((p) => p.start))];

/** The rows the key parameters $1–$3 (keyColumns) name, as a set-returning expression of (k, w, s). */
const NAMED_KEYS = 'unnest($1::text[], $2::bigint[], $3::bigint[])';

/**
 * The key parameters zipped by position with $4, the rows' partials (partialsParam), and, with `numbered`,
 * $5, a bigint per row: `u(k, w, s, p)` or `u(k, w, s, p, v)`.
 */
const pieceRows = (numbered: boolean) =>
  `rows from (unnest($1::text[]), unnest($2::bigint[]), unnest($3::bigint[]), ${partialsRows(4)}${numbered ? ', unnest($5::bigint[])' : ''}) as u(k, w, s, p${numbered ? ', v' : ''})`;

/** Selects `columns` of the rows named that exist, locking them in key order (what keeps two writers from deadlocking). */
const lockingSelect = (table: string, columns: string) =>
  `select ${columns} from ${table} where (entity_key, width, tile_start) in (select * from ${NAMED_KEYS}) order by entity_key, width, tile_start for update`;

/**
 * Inserts rows that do not exist yet, with their partials (`partials`: each row's column text) at
 * `version`, in key order. A row that exists is left alone (and not locked). Answers one row: how many it
 * inserted and, only when that is not all of them, the keys it refused (as arrays; null when none). Most
 * often every row named is new and nothing but the count comes back; otherwise few are refused, where
 * naming each inserted key cost the process a parse and an id per row (tens of thousands per commit with
 * many new entities). The refused keys are found by hashing (`except all`), only when the count says so.
 */
export function insertNewPiecesSql(table: string, pieces: readonly PieceKey[], partials: readonly string[], version: number): { sql: string; params: unknown[] } {
  return {
    sql:
      `with inserted as (insert into ${table} (entity_key, width, tile_start, partial, version) select k, w, s, p, $5 from ${pieceRows(false)} order by k, w, s on conflict do nothing returning entity_key, width, tile_start), ` +
      `counted as (select count(*)::int as n from inserted), ` +
      `refused as (select k, w, s from ${NAMED_KEYS} as u(k, w, s) where (select n from counted) < $6 except all select entity_key, width, tile_start from inserted where (select n from counted) < $6) ` +
      `select (select n from counted) as inserted, (select array_agg(k) from refused) as keys, (select array_agg(w::float8) from refused) as widths, (select array_agg(s::float8) from refused) as starts`,
    params: [...keyColumns(pieces), partialsParam(partials), version, pieces.length],
  };
}

/** insertNewPiecesSql's answer: how many rows it inserted, and the keys of those it refused (null: none). */
export type InsertedPieces = {
  readonly inserted: number;
  readonly keys: string[] | null;
  readonly widths: number[] | null;
  readonly starts: number[] | null;
};

/** Locks the rows named that exist, in key order, and returns `columns` of each besides its key. */
function lockRowsSql(table: string, pieces: readonly PieceKey[], columns: string): { sql: string; params: unknown[] } {
  return {
    sql: lockingSelect(table, `entity_key, width::float8 as width, tile_start::float8 as tile_start, ${columns}`),
    params: keyColumns(pieces),
  };
}

/**
 * Locks the rows named that exist, in key order, and writes each whose version is still `expected` (its
 * partial from `partials`, column text by position, at version expected + 1); an `expected` of null writes
 * nothing. Returns the keys it did not write (a row missing, or at another version): usually none, so the
 * common merge is one statement and no rows back. Locking every row named first, in key order, as a
 * separate step of the statement is what keeps two writers from deadlocking (lockingSelect).
 */
export function saveIfVersionSql(table: string, pieces: readonly PieceKey[], partials: readonly string[], expected: readonly (number | null)[]): { sql: string; params: unknown[] } {
  return {
    sql:
      `with locked as materialized (${lockingSelect(table, 'entity_key, width, tile_start')}), ` +
      `saved as (update ${table} t set partial = u.p, version = u.v + 1 from ${pieceRows(true)} ` +
      `where (t.entity_key, t.width, t.tile_start) in (select * from locked) and t.entity_key = u.k and t.width = u.w and t.tile_start = u.s and t.version = u.v returning t.entity_key, t.width, t.tile_start) ` +
      `select k as entity_key, w::float8 as width, s::float8 as tile_start from ${NAMED_KEYS} as u(k, w, s) ` +
      `where not exists (select 1 from saved where saved.entity_key = u.k and saved.width = u.w and saved.tile_start = u.s)`,
    params: [...keyColumns(pieces), partialsParam(partials), numberArray(expected)],
  };
}

/**
 * Creates missing rows empty (`empty`: each row's column text, at `version`), then locks every row named,
 * in key order, and returns them with their partials: together they make the read-merge-write of tiles
 * safe when two materializers touch one tile (an entity's events split over partitions), without deadlocks
 * between them.
 */
export function lockPiecesSql(table: string, pieces: readonly PieceKey[], empty: readonly string[], version = 0): { insert: { sql: string; params: unknown[] }; select: { sql: string; params: unknown[] } } {
  return { insert: insertNewPiecesSql(table, pieces, empty, version), select: lockRowsSql(table, pieces, 'partial, version::float8 as version') };
}

/** Writes rows already locked: `partials` (column text) and `versions` by position. */
export function savePiecesSql(table: string, pieces: readonly PieceKey[], partials: readonly string[], versions: readonly number[]): { sql: string; params: unknown[] } {
  return {
    sql: `update ${table} t set partial = u.p, version = u.v from ${pieceRows(true)} where t.entity_key = u.k and t.width = u.w and t.tile_start = u.s`,
    params: [...keyColumns(pieces), partialsParam(partials), numberArray(versions)],
  };
}
