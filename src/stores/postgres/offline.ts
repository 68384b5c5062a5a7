import pg from 'pg';
import type { OfflineStore } from '../types.ts';

/** The PostgreSQL offline store. */
export class PostgresOfflineStore implements OfflineStore {
  readonly kind = 'postgres';
  readonly pool: pg.Pool;

  constructor(url: string) {
    this.pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5000, application_name: 'skewless' });
    // Idle clients that lose their connection emit here; the next query reports the fault instead.
    this.pool.on('error', () => {});
  }

  async ping(): Promise<void> {
    await this.pool.query('select 1');
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => {});
  }
}
