/** Starts the transform sandbox a registry needs: none without on-demand views, else one pool with every transform they use. */
import type { Registry } from '../registry/registry.ts';
import type { Transform } from '../registry/types.ts';
import { DEFAULT_POOL_OPTIONS, TransformPool } from './pool.ts';
import type { PoolOptions } from './pool.ts';

export async function startTransforms(registry: Registry, options: PoolOptions = DEFAULT_POOL_OPTIONS): Promise<TransformPool | undefined> {
  const used = new Map<string, Transform>();
  for (const view of registry.views) if (view.kind === 'onDemand') used.set(view.transform.name, view.transform);
  if (used.size === 0) return undefined;
  return TransformPool.start([...used.values()], options);
}
