/** The offline store, on any SqlClient: PostgreSQL and PGlite share every statement. */
import type { FeatureRow } from '../../ingest/rows.ts';
import type { Registry } from '../../registry/registry.ts';
import type { AggregationView, RowView } from '../../registry/types.ts';
import { toIso } from '../../features/time.ts';
import type { EntityInput, OfflineStore } from '../types.ts';
import { asOfJoinSql } from './point-in-time.ts';
import type { AsOfPlan } from './point-in-time.ts';
import type { SqlClient, SqlQueryable, SqlTransaction } from './client.ts';
import { appendHistory, historyDdl } from './history.ts';
import { materializerDdl } from './materializer-tables.ts';
import { applySchemaPart } from './schema-applied.ts';

export class SqlOfflineStore implements OfflineStore {
  readonly kind: 'pglite' | 'postgres';
  readonly #sql: SqlClient;
  readonly #entities = new Map<string, Registry['entities'][number]>();

  constructor(kind: 'pglite' | 'postgres', sql: SqlClient) {
    this.kind = kind;
    this.#sql = sql;
  }

  async ensureSchema(registry: Registry): Promise<void> {
    for (const e of registry.entities) this.#entities.set(e.name, e);
    const aggregations = registry.views.filter((v): v is AggregationView => v.kind === 'aggregation');
    const statements = [
      ...registry.views.flatMap((view) => (view.kind === 'row' ? historyDdl(view, registry.entity(view.entity)!) : [])),
      ...materializerDdl(registry.sources, aggregations, this.#entities),
    ];
    await this.#sql.transaction(async (tx) => {
      // Gateways starting together would race on CREATE TABLE IF NOT EXISTS; one at a time.
      await tx.query(`select pg_advisory_xact_lock(hashtext('skewless.ensure_schema'))`);
      // Only when this schema was not applied yet (schema-applied.ts): a least-privilege login runs no DDL.
      await applySchemaPart(tx, 'registry', statements);
    });
  }

  async appendHistory(view: RowView, rows: readonly FeatureRow[]): Promise<void> {
    if (rows.length === 0) return;
    const entity = this.#entities.get(view.entity);
    if (entity === undefined) throw new Error(`appendHistory before ensureSchema for entity ${view.entity}`);
    const { sql, params } = appendHistory(view, entity, rows);
    await this.#sql.query(sql, params);
  }

  asOfJoin(plan: AsOfPlan, entities: EntityInput): Promise<Record<string, unknown>[]> {
    return this.#sql.transaction(async (tx) => {
      const { sql, params } = await this.#prepareJoin(tx, plan, entities);
      return tx.query(sql, params);
    });
  }

  asOfJoinEach(plan: AsOfPlan, entities: EntityInput, batchSize: number, onBatch: (rows: Record<string, unknown>[]) => Promise<void>): Promise<void> {
    return this.#sql.transaction(async (tx) => {
      const { sql, params } = await this.#prepareJoin(tx, plan, entities);
      await tx.query(`declare skewless_export no scroll cursor for ${sql}`, params);
      const fetch = () => tx.query(`fetch forward ${Math.max(1, Math.floor(batchSize))} from skewless_export`);
      let next = 0;
      // One batch ahead: the database computes the next batch while the caller encodes and writes this
      // one, so the two overlap instead of taking turns. Memory stays bounded at two batches.
      const ahead = () => {
        const p = fetch();
        // Handled for now (a failure surfaces at the next await); left bare, it would count as unhandled.
        p.catch(() => undefined);
        return p;
      };
      let pending = ahead();
      for (;;) {
        const rows = await pending;
        if (rows.length === 0) return;
        pending = ahead();
        try {
          // The join's ORDER BY guarantees this; the check is cheap and makes a wrong plan loud, not silent.
          for (const row of rows) {
            if (row.row_idx !== next++) throw new Error(`streamed as-of join out of order at entity row ${next - 1} (got ${String(row.row_idx)})`);
          }
          await onBatch(rows);
        } catch (error) {
          // Let the fetch in flight settle before the transaction rolls back under it.
          await pending.catch(() => undefined);
          throw error;
        }
      }
    });
  }

  /** Opens the join's transaction read only (and time-bounded for entitySql); returns its statement. */
  async #prepareJoin(tx: SqlQueryable, plan: AsOfPlan, entities: EntityInput): Promise<{ sql: string; params: unknown[] }> {
    // Read only, whatever the SQL: a caller's entitySql cannot write even if it got past checkEntitySql.
    await tx.query('set transaction read only');
    // Every probe has a different (key, T), so a memoize cache in front of it only costs (about 30% of
    // the join, measured); JIT compilation costs a fixed ~200 ms that a probe-bound plan never wins back.
    await tx.query('set local enable_memoize = off');
    await tx.query('set local jit = off');
    if (entities.kind === 'rows') {
      const { rows } = entities;
      const params = [rows.map((_, i) => i), ...plan.joinKeys.map((k) => rows.map((r) => r.keys[k] ?? null)), rows.map((r) => toIso(r.asOf))];
      return { sql: asOfJoinSql(plan, { kind: 'rows' }), params };
    }
    await tx.query(`set local statement_timeout = ${Math.max(1, Math.floor(entities.timeoutMs))}`);
    return { sql: asOfJoinSql(plan, { kind: 'sql', sql: entities.sql, limit: entities.limit }), params: [] };
  }

  query<T extends Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return this.#sql.query<T>(sql, params);
  }

  transaction<T>(fn: (tx: SqlTransaction) => Promise<T>): Promise<T> {
    return this.#sql.transaction(fn);
  }

  async ping(): Promise<void> {
    await this.#sql.query('select 1');
  }

  close(): Promise<void> {
    return this.#sql.close();
  }
}
