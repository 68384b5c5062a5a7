/** An in-process gateway on a free port, for tests that need to reach inside (stores, counters). */
import { buildSchema } from '../../src/graphql/schema.ts';
import { createLogger } from '../../src/ops/log.ts';
import type { Registry } from '../../src/registry/registry.ts';
import { createGateway } from '../../src/server/gateway.ts';
import type { Limits } from '../../src/serving/context.ts';
import type { Stores } from '../../src/stores/open.ts';
import type { OnlineEntry, OnlineKey, OnlineStore } from '../../src/stores/types.ts';
import { DEFAULT_POOL_OPTIONS } from '../../src/transforms/pool.ts';
import type { PoolOptions, TransformPool } from '../../src/transforms/pool.ts';
import { startTransforms } from '../../src/transforms/start.ts';

export interface TestGateway {
  readonly base: string;
  /** The gateway's transform sandbox, when the registry has on-demand views: tests may watch its calls. */
  readonly transforms: TransformPool | undefined;
  close(): Promise<void>;
}

export async function startTestGateway(registry: Registry, stores: Stores, limits: Partial<Limits> = {}, pool: Partial<PoolOptions> = {}): Promise<TestGateway> {
  await stores.offline.ensureSchema(registry);
  const transforms = await startTransforms(registry, { ...DEFAULT_POOL_OPTIONS, ...pool });
  const gateway = createGateway({
    transforms,
    registry,
    schema: buildSchema(registry),
    stores,
    limits: { maxEntities: 1000, maxPushRows: 10_000, maxHistoricalRows: 100_000, entitySqlTimeoutMs: 30_000, ...limits },
    logger: createLogger('error', () => {}),
  });
  const url = await gateway.listen(0, '127.0.0.1');
  return {
    base: url.replace(/\/graphql$/, ''),
    transforms,
    close: async () => {
      await gateway.close();
      await transforms?.close();
    },
  };
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
    writePieces: inner.writePieces.bind(inner),
    ping: inner.ping.bind(inner),
    close: inner.close.bind(inner),
  });
}
