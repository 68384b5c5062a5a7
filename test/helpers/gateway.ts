/** An in-process gateway on a free port, for tests that need to reach inside (stores, counters). */
import { buildSchema } from '../../src/graphql/schema.ts';
import { createLogger } from '../../src/ops/log.ts';
import type { Registry } from '../../src/registry/registry.ts';
import { createGateway } from '../../src/server/gateway.ts';
import type { Limits } from '../../src/serving/context.ts';
import type { Stores } from '../../src/stores/open.ts';
import type { OnlineEntry, OnlineKey, OnlineStore } from '../../src/stores/types.ts';

export interface TestGateway {
  readonly base: string;
  close(): Promise<void>;
}

export async function startTestGateway(registry: Registry, stores: Stores, limits: Partial<Limits> = {}): Promise<TestGateway> {
  await stores.offline.ensureSchema(registry);
  const gateway = createGateway({
    registry,
    schema: buildSchema(registry),
    stores,
    limits: { maxEntities: 1000, maxPushRows: 10_000, maxHistoricalRows: 100_000, entitySqlTimeoutMs: 30_000, ...limits },
    logger: createLogger('error', () => {}),
  });
  const url = await gateway.listen(0, '127.0.0.1');
  return { base: url.replace(/\/graphql$/, ''), close: () => gateway.close() };
}

/** Wraps an online store to count read calls and keys: the batching tests' witness. */
export function countingStore(inner: OnlineStore): OnlineStore & { calls: OnlineKey[][] } {
  const calls: OnlineKey[][] = [];
  return Object.assign(Object.create(inner) as OnlineStore, {
    calls,
    read: (keys: readonly OnlineKey[]): Promise<OnlineEntry[]> => {
      calls.push([...keys]);
      return inner.read(keys);
    },
    writeIfNewer: inner.writeIfNewer.bind(inner),
    ping: inner.ping.bind(inner),
    close: inner.close.bind(inner),
  });
}
