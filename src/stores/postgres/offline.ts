import pg from 'pg';
import type { SqlClient } from '../sql/client.ts';
import { SqlOfflineStore } from '../sql/offline.ts';

/** The PostgreSQL offline store: node-postgres pool behind the shared SQL. */
export function postgresOfflineStore(url: string): SqlOfflineStore {
  return new SqlOfflineStore('postgres', postgresClient(url));
}

export function postgresClient(url: string): SqlClient {
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5000, application_name: 'skewless' });
  // Idle clients that lose their connection emit here; the next query reports the fault instead.
  pool.on('error', () => {});
  let closed = false;
  return {
    query: async <T extends Record<string, unknown>>(sql: string, params?: readonly unknown[]) => (await pool.query(sql, params as unknown[])).rows as T[],
    transaction: async (fn) => {
      const client = await pool.connect();
      try {
        await client.query('begin');
        const result = await fn({ query: async <T extends Record<string, unknown>>(sql: string, params?: readonly unknown[]) => (await client.query(sql, params as unknown[])).rows as T[] });
        await client.query('commit');
        return result;
      } catch (error) {
        await client.query('rollback').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await pool.end().catch(() => {});
    },
  };
}
