/** Chooses each store from configuration: the real one when its URL is set, the embedded one otherwise. */
import type { Config } from '../config/config.ts';
import { MemoryOnlineStore } from './memory/online.ts';
import { pgliteOfflineStore } from './pglite/offline.ts';
import { postgresOfflineStore } from './postgres/offline.ts';
import { RedisOnlineStore } from './redis/online.ts';
import type { OfflineStore, OnlineStore } from './types.ts';

export interface Stores {
  readonly online: OnlineStore;
  readonly offline: OfflineStore;
}

/**
 * The stores of a command that writes the online store from PostgreSQL (materialize, backfill,
 * rebuild-online): Redis commands may take up to `--online-write-timeout`. Their writes are background and
 * absolute, and one timed out under load is owed again from PostgreSQL (the outbox), which costs far more
 * than waiting. Under load they do wait: a command's timer runs from when it was sent, and its reply is
 * read only once the process's own JavaScript (the next commit's fold and merge) lets it.
 */
export async function openWriterStores(config: Pick<Config, 'redisUrl' | 'redisMode' | 'onlineWriteTimeoutMs' | 'databaseUrl' | 'pgliteDir'>): Promise<Stores> {
  return openStores({ ...config, redisTimeoutMs: config.onlineWriteTimeoutMs });
}

export async function openStores(config: Pick<Config, 'redisUrl' | 'redisMode' | 'redisTimeoutMs' | 'databaseUrl' | 'pgliteDir'>): Promise<Stores> {
  const online =
    config.redisUrl === undefined ? new MemoryOnlineStore() : new RedisOnlineStore(config.redisUrl, config.redisMode, { commandTimeoutMs: config.redisTimeoutMs });
  const offline = config.databaseUrl === undefined ? await pgliteOfflineStore(config.pgliteDir) : postgresOfflineStore(config.databaseUrl);
  return { online, offline };
}

export async function closeStores(stores: Stores): Promise<void> {
  await Promise.allSettled([stores.online.close(), stores.offline.close()]);
}
