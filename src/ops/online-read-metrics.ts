/**
 * The online store's read with its metrics around it, made once per gateway: every request's DataLoader
 * calls this one function (serving/online-loader.ts), which records the call (one round trip), its keys
 * (the batch size), its duration and each key that came back as an error. No extra store call and
 * nothing built per request: the label children are bound here, once.
 */
import { SkewlessError } from '../errors.ts';
import type { OnlineRead } from '../serving/online-loader.ts';
import type { OnlineEntry, OnlineKey, OnlineStore } from '../stores/types.ts';
import type { GatewayMetrics } from './gateway-metrics.ts';

export function observedOnlineRead(store: OnlineStore, metrics: GatewayMetrics): OnlineRead {
  const roundTrips = metrics.storeRoundTrips.labels(store.kind);
  const seconds = metrics.storeSeconds.labels(store.kind);
  const batchKeys = metrics.batchKeys.labels('online');
  const failed = (code: string) => metrics.storeErrors.inc({ store: store.kind, code });
  return async (keys: readonly OnlineKey[]): Promise<OnlineEntry[]> => {
    roundTrips.inc();
    batchKeys.observe(keys.length);
    const end = seconds.startTimer();
    let entries: OnlineEntry[];
    try {
      entries = await store.read(keys);
    } catch (error) {
      // The contract is one entry per key, errors included; a throw is a bug or a dead client: every key failed.
      metrics.storeErrors.inc({ store: store.kind, code: error instanceof SkewlessError ? error.code : 'INTERNAL' }, keys.length);
      throw error;
    } finally {
      end();
    }
    for (const entry of entries) if (entry instanceof SkewlessError) failed(entry.code);
    return entries;
  };
}
