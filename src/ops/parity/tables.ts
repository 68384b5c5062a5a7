/**
 * Parity's two tables in the offline store (pure SQL, PostgreSQL and PGlite alike):
 *
 *   skewless.parity_samples (id, sampled_at = T, view, keys, request, status, values, event_ts, created_ts,
 *                            transforms, recorded_at, reconciled_at)      what the online path served
 *   skewless.parity_results (sample_id, feature, view, keys, sampled_at, outcome, reason, online_status,
 *                            online_value, offline_status, offline_value, reconciled_at)
 *                                                                          one verdict per feature
 *
 * Values are text in the encoding of values.ts (exact: -0, NaN and key order survive), not jsonb, whose
 * numbers and key order are PostgreSQL's own. Keys are jsonb (join key → value as text), readable in psql.
 * A result's primary key (sample_id, feature) makes a verdict written twice (two reconcilers racing) count
 * once. Every statement takes its data as parameters, never as SQL text.
 */
import { toIso } from '../../features/time.ts';
import type { SqlQueryable } from '../../stores/sql/client.ts';
import { applySchemaPart } from '../../stores/sql/schema-applied.ts';
import type { Outcome } from './judge.ts';
import { encodeValue } from './values.ts';

export const SAMPLES = 'skewless.parity_samples';
export const RESULTS = 'skewless.parity_results';

export const PARITY_DDL: readonly string[] = [
  'create schema if not exists skewless',
  `create table if not exists ${SAMPLES} (id bigserial primary key, sampled_at timestamptz not null, view text not null, keys jsonb not null, request text, status text not null, "values" text not null, event_ts timestamptz, created_ts timestamptz, transforms jsonb, recorded_at timestamptz not null default now(), reconciled_at timestamptz)`,
  // The reconciler's queue: what is left to judge, oldest first.
  `create index if not exists parity_samples_pending on ${SAMPLES} (id) where reconciled_at is null`,
  `create index if not exists parity_samples_time on ${SAMPLES} (sampled_at)`,
  `create table if not exists ${RESULTS} (sample_id bigint not null references ${SAMPLES} (id) on delete cascade, feature text not null, view text not null, keys jsonb not null, sampled_at timestamptz not null, outcome text not null, reason text, online_status text not null, online_value text, offline_status text, offline_value text, reconciled_at timestamptz not null, primary key (sample_id, feature))`,
  `create index if not exists parity_results_time on ${RESULTS} (sampled_at)`,
  `create index if not exists parity_results_mismatch on ${RESULTS} (sampled_at) where outcome = 'MISMATCH'`,
];

/** Creates the tables when missing; idempotent, and safe when several processes start at once. */
export async function ensureParityTables(store: { transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T> }): Promise<void> {
  await store.transaction(async (tx) => {
    await tx.query(`select pg_advisory_xact_lock(hashtext('skewless.parity_tables'))`);
    await applySchemaPart(tx, 'parity', PARITY_DDL);
  });
}

/** One online answer for one (view, entity) at T, as the sampler writes it. */
export interface SampleRow {
  /** The request's instant T, epoch ms. */
  readonly asOf: number;
  readonly view: string;
  /** Join key → value as text (the canonical key text), every entity the view is keyed by. */
  readonly keys: Readonly<Record<string, string>>;
  /** Request fields an on-demand view was computed with; null for stored views. */
  readonly request: Readonly<Record<string, unknown>> | null;
  /** PRESENT, NOT_FOUND or EXPIRED (an ERROR is never sampled). */
  readonly status: string;
  /** Feature → value as served (null when the status is not PRESENT). */
  readonly values: Readonly<Record<string, unknown>>;
  /** A row view's served row: its event and created time. */
  readonly eventTs: number | null;
  readonly createdTs: number | null;
  /** On-demand: view → sha256 of each transform its value came from (its own and chained views'). */
  readonly transforms: Readonly<Record<string, string>> | null;
}

/** A sample read back for judging; `request` and `values` still encoded. */
export interface StoredSample {
  readonly id: string;
  readonly sampled_at: Date;
  readonly view: string;
  readonly keys: Record<string, string>;
  readonly request: string | null;
  readonly status: string;
  readonly values: string;
  readonly transforms: Record<string, string> | null;
}

/** One verdict, as the reconciler writes it. */
export interface ResultRow {
  readonly sampleId: string;
  readonly feature: string;
  readonly view: string;
  readonly keys: Readonly<Record<string, string>>;
  readonly asOf: number;
  readonly outcome: Outcome;
  readonly reason: string | undefined;
  readonly onlineStatus: string;
  readonly onlineValue: unknown;
  /** Undefined when the comparison never reached the offline side (SKIPPED before the replay). */
  readonly offlineStatus: string | undefined;
  readonly offlineValue: unknown;
}

export interface Statement {
  readonly sql: string;
  readonly params: unknown[];
}

const nullableIso = (ms: number | null): string | null => (ms === null ? null : toIso(ms));

export function insertSamplesSql(rows: readonly SampleRow[]): Statement {
  return {
    sql:
      `insert into ${SAMPLES} (sampled_at, view, keys, request, status, "values", event_ts, created_ts, transforms) ` +
      `select t, v, k::jsonb, r, s, x, e, c, h::jsonb from unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::timestamptz[], $9::text[]) as u(t, v, k, r, s, x, e, c, h)`,
    params: [
      rows.map((r) => toIso(r.asOf)),
      rows.map((r) => r.view),
      rows.map((r) => JSON.stringify(r.keys)),
      rows.map((r) => (r.request === null ? null : encodeValue(r.request))),
      rows.map((r) => r.status),
      rows.map((r) => encodeValue(r.values)),
      rows.map((r) => nullableIso(r.eventTs)),
      rows.map((r) => nullableIso(r.createdTs)),
      rows.map((r) => (r.transforms === null ? null : JSON.stringify(r.transforms))),
    ],
  };
}

/**
 * The oldest samples of the given views still to judge, up to `limit`: taken at or before `settledBy`
 * (older than the settle delay) and, with `since`, at or after it.
 */
export function pendingSamplesSql(views: readonly string[], settledBy: number, since: number | undefined, limit: number): Statement {
  return {
    sql:
      `select id::text as id, sampled_at, view, keys, request, status, "values", transforms from ${SAMPLES} ` +
      `where reconciled_at is null and view = any($1::text[]) and sampled_at <= $2::timestamptz and ($3::timestamptz is null or sampled_at >= $3::timestamptz) order by id limit $4`,
    params: [views, toIso(settledBy), since === undefined ? null : toIso(since), limit],
  };
}

/** Writes verdicts (a verdict already there is kept) and returns those written, for counting. */
export function insertResultsSql(rows: readonly ResultRow[], reconciledAt: number): Statement {
  return {
    sql:
      `insert into ${RESULTS} (sample_id, feature, view, keys, sampled_at, outcome, reason, online_status, online_value, offline_status, offline_value, reconciled_at) ` +
      `select i, f, v, k::jsonb, t, o, r, os, ov, fs, fv, $12::timestamptz from unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[]) as u(i, f, v, k, t, o, r, os, ov, fs, fv) ` +
      `on conflict (sample_id, feature) do nothing returning view, feature, outcome`,
    params: [
      rows.map((r) => r.sampleId),
      rows.map((r) => r.feature),
      rows.map((r) => r.view),
      rows.map((r) => JSON.stringify(r.keys)),
      rows.map((r) => toIso(r.asOf)),
      rows.map((r) => r.outcome),
      rows.map((r) => r.reason ?? null),
      rows.map((r) => r.onlineStatus),
      rows.map((r) => encodeValue(r.onlineValue)),
      rows.map((r) => r.offlineStatus ?? null),
      rows.map((r) => (r.offlineStatus === undefined ? null : encodeValue(r.offlineValue))),
      toIso(reconciledAt),
    ],
  };
}

export function markReconciledSql(ids: readonly string[], reconciledAt: number): Statement {
  return { sql: `update ${SAMPLES} set reconciled_at = $2::timestamptz where id = any($1::bigint[]) and reconciled_at is null`, params: [ids, toIso(reconciledAt)] };
}

/** Forgets samples (and, by cascade, their verdicts) taken before `before`, judged or not. */
export function pruneSamplesSql(before: number): Statement {
  return { sql: `delete from ${SAMPLES} where sampled_at < $1::timestamptz`, params: [toIso(before)] };
}

const sinceClause = (param: number) => `($${param}::timestamptz is null or sampled_at >= $${param}::timestamptz)`;

/** Verdicts counted by view, feature and outcome, over samples taken since `since` (all when undefined). */
export function outcomeCountsSql(since: number | undefined): Statement {
  return {
    sql: `select view, feature, outcome, count(*)::int as n from ${RESULTS} where ${sinceClause(1)} group by view, feature, outcome order by view, feature, outcome`,
    params: [since === undefined ? null : toIso(since)],
  };
}

/** The newest verdicts of one outcome (by sample time), with both values. */
export function recentResultsSql(outcome: Outcome, since: number | undefined, limit: number): Statement {
  return {
    sql:
      `select sample_id::text as sample_id, view, feature, keys, sampled_at, reason, online_status, online_value, offline_status, offline_value, reconciled_at from ${RESULTS} ` +
      `where outcome = $1 and ${sinceClause(2)} order by sampled_at desc, sample_id desc, feature limit $3`,
    params: [outcome, since === undefined ? null : toIso(since), limit],
  };
}

/** Samples taken since `since` still waiting for a verdict. */
export function pendingCountSql(since: number | undefined): Statement {
  return { sql: `select count(*)::int as n from ${SAMPLES} where reconciled_at is null and ${sinceClause(1)}`, params: [since === undefined ? null : toIso(since)] };
}
