import pg from 'pg';
import { SkewlessError } from '../../errors.ts';
import type { SqlClient } from '../sql/client.ts';
import { SqlOfflineStore } from '../sql/offline.ts';
import { copyBinaryFrom } from './copy-from.ts';

/** The PostgreSQL offline store: node-postgres pool behind the shared SQL. */
export function postgresOfflineStore(url: string): SqlOfflineStore {
  return new SqlOfflineStore('postgres', postgresClient(url));
}

/** SQLSTATEs that mean the server went away or is not accepting sessions, not that the statement was wrong. */
const GONE_SQLSTATES = new Set(['57P01', '57P02', '57P03']);
/** Socket errors of a lost or refused connection. */
const GONE_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/** True for a connection failure (class 08, a shutdown, a socket error): retrying later can succeed. */
export function isConnectionLost(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return code.startsWith('08') || GONE_SQLSTATES.has(code) || GONE_SOCKET_CODES.has(code);
}

function unavailable(error: unknown): SkewlessError {
  return new SkewlessError('OFFLINE_STORE_UNAVAILABLE', `offline store unavailable: ${error instanceof Error ? error.message : String(error)}`, { retriable: true, httpStatus: 503, cause: error });
}

export function postgresClient(url: string): SqlClient {
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5000, application_name: 'skewless' });
  // Idle clients that lose their connection emit here; the next query reports the fault instead.
  pool.on('error', () => {});
  let closed = false;

  /**
   * Runs `fn` on a checked-out client. pg-pool listens for a client's 'error' only while it is idle, and a
   * client whose server goes away mid-query emits one after the query has failed: unheard, that would be an
   * uncaught exception that ends the process. So this listens while the client is out, and a lost
   * connection (seen that way, or by its code) becomes a retriable OFFLINE_STORE_UNAVAILABLE and the
   * client is discarded rather than handed out again.
   */
  const withClient = async <R>(fn: (client: pg.PoolClient) => Promise<R>): Promise<R> => {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      // No connection at all (refused, timed out, server starting or stopping): always the store's absence.
      throw unavailable(error);
    }
    let lost: unknown;
    const onError = (error: unknown) => (lost ??= error);
    client.on('error', onError);
    let failure: unknown;
    try {
      return await fn(client);
    } catch (error) {
      failure = error;
      throw lost !== undefined || isConnectionLost(error) ? unavailable(error) : error;
    } finally {
      const broken = lost !== undefined || isConnectionLost(failure);
      client.release(broken ? ((lost ?? failure) as Error) : undefined);
      // A broken client is discarded, and may still emit a late 'error': it keeps this listener (nothing
      // holds the client any more). A healthy one goes back to the pool without it.
      if (!broken) client.off('error', onError);
    }
  };

  return {
    query: <T extends Record<string, unknown>>(sql: string, params?: readonly unknown[]) => withClient(async (client) => (await client.query(sql, params as unknown[])).rows as T[]),
    transaction: (fn) =>
      withClient(async (client) => {
        await client.query('begin');
        try {
          const result = await fn({
            query: async <T extends Record<string, unknown>>(sql: string, params?: readonly unknown[]) => (await client.query(sql, params as unknown[])).rows as T[],
            copyBinary: (target, data) => copyBinaryFrom(client, target, data),
          });
          await client.query('commit');
          return result;
        } catch (error) {
          await client.query('rollback').catch(() => {});
          throw error;
        }
      }),
    close: async () => {
      if (closed) return;
      closed = true;
      await pool.end().catch(() => {});
    },
  };
}
