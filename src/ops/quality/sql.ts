/**
 * The SQL data quality runs, PostgreSQL and PGlite alike. Pure: statements and their parameters; every
 * value travels as a parameter, names are registry-validated identifiers (quoted).
 *
 *   skewless.quality_references (id, view, feature, captured_at, origin, note, edges jsonb,
 *                                proportions jsonb, sample_count, window_from, window_to)
 *   index (view, feature, captured_at desc, id desc)      the latest reference of a feature
 *
 * Window reads return times as float8 epoch ms (exact, and no Date to convert), newest first, bounded by
 * a limit: the statistics of a window too large to read whole describe its newest part (see
 * window-sample.ts).
 */
import type { EventSource, Field, RowView } from '../../registry/types.ts';
import { SCHEMA, historyTable, ident } from '../../stores/sql/history.ts';
import { eventsTable } from '../../stores/sql/materializer-tables.ts';

export const REFERENCES = `${SCHEMA}.quality_references`;

const epochMs = (column: string) => `round(extract(epoch from ${column}) * 1000)::float8`;

/** Statements creating the references table; each is idempotent. */
export function referencesDdl(): string[] {
  return [
    `create schema if not exists ${SCHEMA}`,
    `create table if not exists ${REFERENCES} (id bigserial primary key, view text not null, feature text not null, captured_at timestamptz not null, ` +
      `origin text not null, note text not null default '', edges jsonb not null, proportions jsonb not null, sample_count integer not null, ` +
      `window_from timestamptz, window_to timestamptz)`,
    `create index if not exists quality_references_latest on ${REFERENCES} (view, feature, captured_at desc, id desc)`,
  ];
}

/**
 * A row view's history rows with `from ≤ event_timestamp ≤ to` (the ttl rule's bounds: the rows a view
 * with that ttl could serve at `to`), newest first, at most `limit`: `__t` and the features named.
 * Params: from, to (ISO), limit.
 */
export function rowWindowSql(view: RowView, features: readonly string[]): string {
  const columns = [`${epochMs('event_timestamp')} as "__t"`, ...features.map(ident)];
  return (
    `select ${columns.join(', ')} from ${historyTable(view.name)} ` +
    `where event_timestamp >= $1::timestamptz and event_timestamp <= $2::timestamptz order by event_timestamp desc limit $3`
  );
}

/**
 * The entities with an archived event in [from, to) (the events a value at `to` can count), each with its
 * join key columns and its latest event time `__t`, most recently active first (ties by key, so the sample
 * a limit keeps is the same on every run), at most `limit`. Params: from, to (ISO), limit.
 */
export function activeEntitiesSql(source: EventSource, keyFields: readonly Field[]): string {
  const keys = keyFields.map((f) => ident(f.name));
  const ts = ident(source.timestampField);
  return (
    `select ${keys.join(', ')}, ${epochMs(`max(${ts})`)} as "__t" from ${eventsTable(source.name)} ` +
    `where ${ts} >= $1::timestamptz and ${ts} < $2::timestamptz group by ${keys.join(', ')} order by max(${ts}) desc, ${keys.join(', ')} limit $3`
  );
}

/** A reference to store: one feature's bins, with where it came from. */
export interface NewReference {
  readonly view: string;
  readonly feature: string;
  readonly capturedAt: number;
  /** `export` (a training-set export) or `window` (captured explicitly from a recent window). */
  readonly origin: 'export' | 'window';
  readonly note: string;
  readonly edges: readonly number[];
  readonly proportions: readonly number[];
  readonly sampleCount: number;
  /** The window it was read from (origin `window`). */
  readonly window?: { readonly from: number; readonly to: number };
}

/** One INSERT for any number of references (bins as jsonb text: a parameter cannot be an array of arrays). */
export function insertReferencesSql(refs: readonly NewReference[]): { sql: string; params: unknown[] } {
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  return {
    sql:
      `insert into ${REFERENCES} (view, feature, captured_at, origin, note, edges, proportions, sample_count, window_from, window_to) ` +
      `select v, f, c, o, n, e::jsonb, p::jsonb, s, wf, wt from unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::timestamptz[], $10::timestamptz[]) ` +
      `as u(v, f, c, o, n, e, p, s, wf, wt)`,
    params: [
      refs.map((r) => r.view),
      refs.map((r) => r.feature),
      refs.map((r) => iso(r.capturedAt)),
      refs.map((r) => r.origin),
      refs.map((r) => r.note),
      refs.map((r) => JSON.stringify(r.edges)),
      refs.map((r) => JSON.stringify(r.proportions)),
      refs.map((r) => r.sampleCount),
      refs.map((r) => iso(r.window?.from)),
      refs.map((r) => iso(r.window?.to)),
    ],
  };
}

/** The latest reference (by capture time, then insertion) of each (view, feature) named. */
export function latestReferencesSql(pairs: readonly { readonly view: string; readonly feature: string }[]): { sql: string; params: unknown[] } {
  return {
    sql:
      `select distinct on (r.view, r.feature) r.view, r.feature, ${epochMs('r.captured_at')} as captured_at, r.origin, r.note, r.edges, r.proportions, r.sample_count, ` +
      `${epochMs('r.window_from')} as window_from, ${epochMs('r.window_to')} as window_to ` +
      `from ${REFERENCES} r join unnest($1::text[], $2::text[]) as u(v, f) on r.view = u.v and r.feature = u.f ` +
      `order by r.view, r.feature, r.captured_at desc, r.id desc`,
    params: [pairs.map((p) => p.view), pairs.map((p) => p.feature)],
  };
}
