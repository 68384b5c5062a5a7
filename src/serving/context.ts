/** What every resolver sees: created once per request, so T and the read batcher are per request. */
import type { Registry } from '../registry/registry.ts';
import type { Stores } from '../stores/open.ts';
import type { TransformPool } from '../transforms/pool.ts';
import { transformPool } from './frame.ts';
import { createOnDemandLoader } from './on-demand-loader.ts';
import type { OnDemandLoader } from './on-demand-loader.ts';
import { createOnlineLoader } from './online-loader.ts';
import type { OnlineLoader } from './online-loader.ts';

export interface Limits {
  /** Most entity rows one online request may ask for. */
  readonly maxEntities: number;
  /** Most rows one push may carry. */
  readonly maxPushRows: number;
  /** Most entity rows one historicalFeatures query answers over GraphQL. */
  readonly maxHistoricalRows: number;
  /** Statement timeout of an entitySql-driven historical query, ms. */
  readonly entitySqlTimeoutMs: number;
}

export interface ServingContext {
  readonly registry: Registry;
  readonly stores: Stores;
  readonly limits: Limits;
  /** The instant T this request is served at, epoch ms: taken once, so every value shares it. */
  readonly asOf: number;
  readonly online: OnlineLoader;
  /** Batches the on-demand views typed fields ask for: one sandbox call per view per tick. */
  readonly onDemand: OnDemandLoader;
  /** The transform sandbox; undefined when the registry has no on-demand views. */
  readonly transforms: TransformPool | undefined;
}

export interface ServingDeps {
  readonly registry: Registry;
  readonly stores: Stores;
  readonly limits: Limits;
  readonly transforms?: TransformPool | undefined;
  /** Clock, injectable for tests. Default Date.now. */
  readonly now?: () => number;
}

export function createServingContext(deps: ServingDeps): ServingContext {
  const asOf = (deps.now ?? Date.now)();
  let onDemand: OnDemandLoader | undefined;
  const ctx: ServingContext = {
    registry: deps.registry,
    stores: deps.stores,
    limits: deps.limits,
    asOf,
    online: createOnlineLoader(deps.stores.online),
    // Made on first use: most requests never ask for an on-demand view through a typed field.
    get onDemand() {
      return (onDemand ??= createOnDemandLoader(() => transformPool(ctx), asOf));
    },
    transforms: deps.transforms,
  };
  return ctx;
}
