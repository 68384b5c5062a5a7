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

export async function openStores(config: Pick<Config, 'redisUrl' | 'redisMode' | 'redisTimeoutMs' | 'databaseUrl' | 'pgliteDir'>): Promise<Stores> {
  const online =
    config.redisUrl === undefined ? new MemoryOnlineStore() : new RedisOnlineStore(config.redisUrl, config.redisMode, { commandTimeoutMs: config.redisTimeoutMs });
  const offline = config.databaseUrl === undefined ? await pgliteOfflineStore(config.pgliteDir) : postgresOfflineStore(config.databaseUrl);
  return { online, offline };
}

export async function closeStores(stores: Stores): Promise<void> {
  await Promise.allSettled([stores.online.close(), stores.offline.close()]);
}
