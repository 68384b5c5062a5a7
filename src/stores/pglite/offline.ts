import { PGlite } from '@electric-sql/pglite';
import type { SqlClient } from '../sql/client.ts';
import { SqlOfflineStore } from '../sql/offline.ts';

/**
 * The embedded offline store: PostgreSQL compiled to WebAssembly (PGlite), in memory or in a directory.
 * The same SQL as the PostgreSQL store runs here, so the embedded demo has the same semantics.
 */
export async function pgliteOfflineStore(dataDir?: string): Promise<SqlOfflineStore> {
  const db = dataDir === undefined ? new PGlite() : new PGlite(dataDir);
  await db.waitReady;
  return new SqlOfflineStore('pglite', pgliteClient(db));
}

export function pgliteClient(db: PGlite): SqlClient {
  return {
    query: async <T extends Record<string, unknown>>(sql: string, params?: readonly unknown[]) => (await db.query<T>(sql, params as unknown[])).rows,
    transaction: (fn) =>
      db.transaction((tx) =>
        fn({
          query: async <T extends Record<string, unknown>>(sql: string, params?: readonly unknown[]) => (await tx.query<T>(sql, params as unknown[])).rows,
          // PGlite reads COPY data from a Blob it names /dev/blob.
          copyBinary: async (target, data) => (await tx.query(`copy ${target} from '/dev/blob' (format binary)`, [], { blob: new Blob([data as Uint8Array<ArrayBuffer>]) })).affectedRows ?? 0,
        }),
      ),
    close: async () => {
      if (!db.closed) await db.close();
    },
  };
}
