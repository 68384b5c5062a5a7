import { PGlite } from '@electric-sql/pglite';
import type { OfflineStore } from '../types.ts';

/**
 * The embedded offline store: PostgreSQL compiled to WebAssembly (PGlite), in memory or in a directory.
 * The same SQL as the PostgreSQL store runs here, so the embedded demo has the same semantics.
 */
export class PgliteOfflineStore implements OfflineStore {
  readonly kind = 'pglite';
  readonly db: PGlite;

  private constructor(db: PGlite) {
    this.db = db;
  }

  /** Opens the store; `dataDir` undefined keeps everything in memory. */
  static async open(dataDir?: string): Promise<PgliteOfflineStore> {
    const db = dataDir === undefined ? new PGlite() : new PGlite(dataDir);
    await db.waitReady;
    return new PgliteOfflineStore(db);
  }

  async ping(): Promise<void> {
    await this.db.query('select 1');
  }

  async close(): Promise<void> {
    if (!this.db.closed) await this.db.close();
  }
}
