/**
 * DDL run once per schema version, not at every start. Each part of the schema (the registry's tables,
 * parity's, data quality's) is a list of idempotent statements; once they have run, their fingerprint is
 * recorded in `skewless.schema_applied`, and a later start whose statements have the same fingerprint and
 * whose tables all exist runs no DDL at all. That is what lets a least-privilege login — one that may read
 * and write rows but not CREATE or ALTER (docs/database-roles.md) — start a gateway or a materializer once
 * the schema's owner has applied it; PostgreSQL checks privileges even for `create … if not exists` of
 * something that exists. When the schema changes (a view added, a feature added, an upgrade), the
 * fingerprint differs: the owner's next start applies it, and a least-privilege start fails on the first
 * statement it may not run, which names what is missing.
 */
import { createHash } from 'node:crypto';
import type { SqlQueryable } from './client.ts';
import { SCHEMA } from './history.ts';

export const SCHEMA_APPLIED = `${SCHEMA}.schema_applied`;

/** The tables `create table if not exists` statements name (pure). */
export function tablesCreated(statements: readonly string[]): string[] {
  return statements.flatMap((s) => /^create table if not exists (\S+)/i.exec(s)?.[1] ?? []);
}

export function fingerprint(statements: readonly string[]): string {
  return createHash('sha256').update(statements.join('\n;\n')).digest('hex');
}

/** Runs `statements` unless this exact list was applied before and its tables still exist (see above). */
export async function applySchemaPart(tx: SqlQueryable, part: string, statements: readonly string[]): Promise<void> {
  const print = fingerprint(statements);
  const tables = tablesCreated(statements);
  // to_regclass answers null, never an error, for a missing table or schema (an error would abort the
  // transaction): the checks need no privilege beyond what reading rows needs.
  const [known] = await tx.query<{ present: boolean }>(`select to_regclass('${SCHEMA_APPLIED}') is not null as present`);
  const state =
    known?.present === true
      ? (
          await tx.query<{ applied: boolean; missing: number }>(
            `select exists (select 1 from ${SCHEMA_APPLIED} where part = $1 and fingerprint = $2) as applied, ` +
              `(select count(*)::int from unnest($3::text[]) as t(name) where to_regclass(t.name) is null) as missing`,
            [part, print, tables],
          )
        )[0]
      : undefined;
  if (state?.applied === true && state.missing === 0) return;
  for (const statement of statements) await tx.query(statement);
  // Every version applied is kept: DDL mostly adds, so a process still on an older schema (a rolling
  // deploy) finds its version applied and its tables present, and starts as its role too. Not all of it:
  // turning tiles' partials into text breaks earlier gateways' historical reads (docs/materializer.md).
  // The record is of versions applied, not a way back: nothing here undoes a change.
  await tx.query(`create table if not exists ${SCHEMA_APPLIED} (part text not null, fingerprint text not null, applied_at timestamptz not null default now(), primary key (part, fingerprint))`);
  await tx.query(`insert into ${SCHEMA_APPLIED} (part, fingerprint) values ($1, $2) on conflict (part, fingerprint) do update set applied_at = now()`, [part, print]);
}
