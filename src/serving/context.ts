/** What every resolver sees: created once per request, so T and the read batcher are per request. */
import type { ParityRecorder, ParitySampler } from '../ops/parity/sampler.ts';
import type { Registry } from '../registry/registry.ts';
import type { Stores } from '../stores/open.ts';
import type { TransformPool } from '../transforms/pool.ts';
import { transformPool } from './frame.ts';
import { createOnDemandLoader } from './on-demand-loader.ts';
import type { OnDemandLoader } from './on-demand-loader.ts';
import { createOnlineLoader } from './online-loader.ts';
import type { OnlineLoader, OnlineRead } from './online-loader.ts';

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
  /** Set when this request is sampled for parity: what it serves is recorded (ops/parity/sampler.ts). */
  readonly parity?: ParityRecorder | undefined;
}

export interface ServingDeps {
  readonly registry: Registry;
  readonly stores: Stores;
  readonly limits: Limits;
  readonly transforms?: TransformPool | undefined;
  /** Clock, injectable for tests. Default Date.now. */
  readonly now?: () => number;
  /** The online batch read every request's loader calls, made once (the gateway's records metrics). Default: the store's read. */
  readonly readOnline?: OnlineRead;
  /** Samples a fraction of requests for continuous parity (docs/parity.md); none when undefined. */
  readonly parity?: ParitySampler | undefined;
}

export function createServingContext(deps: ServingDeps): ServingContext {
  const asOf = (deps.now ?? Date.now)();
  // One random draw; for the few requests sampled, the loaders below record what they answer.
  const parity = deps.parity?.begin(asOf);
  const read = deps.readOnline ?? deps.stores.online;
  let onDemand: OnDemandLoader | undefined;
  const ctx: ServingContext = {
    registry: deps.registry,
    stores: deps.stores,
    limits: deps.limits,
    asOf,
    online: createOnlineLoader(parity === undefined ? read : parity.observe(read)),
    // Made on first use: most requests never ask for an on-demand view through a typed field.
    get onDemand() {
      if (onDemand === undefined) {
        const loader = createOnDemandLoader(() => transformPool(ctx), asOf);
        onDemand = parity === undefined ? loader : parity.observeOnDemand(loader);
      }
      return onDemand;
    },
    transforms: deps.transforms,
    parity,
  };
  return ctx;
}
