/**
 * A materializer retires the sorted sets of raw events earlier versions left in the online store
 * (stores/redis/sorted-sets.ts): at start-up, and again every RETIRE_EVERY_MS while any of its views has
 * some left (their events age out: no writer adds to them any more). Each view with none left is marked,
 * and gateways stop asking for its sets on every read. It runs beside consumption and never holds it up.
 */
import type { Logger } from '../ops/log.ts';
import type { Registry } from '../registry/registry.ts';
import type { AggregationView } from '../registry/types.ts';
import type { OnlineStore } from '../stores/types.ts';
import { eventFrom } from './online-retention.ts';

/** How long a materializer waits before trying again while sorted sets are left, ms. */
export const RETIRE_EVERY_MS = 10 * 60_000;

/** Starts retiring; `stop` cancels the next try and resolves once the one running is done. */
export function retireSortedSetsInBackground(registry: Registry, online: OnlineStore, logger: Logger): { stop(): Promise<void> } {
  const views = registry.views.filter((v): v is AggregationView => v.kind === 'aggregation');
  if (online.retireSortedSets === undefined || views.length === 0) return { stop: async () => {} };
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const attempt = async (): Promise<void> => {
    try {
      const now = Date.now();
      const left = [...(await online.retireSortedSets!(new Map(views.map((v) => [v.name, eventFrom(v, now)]))))].filter(([, sets]) => sets > 0);
      if (left.length === 0) return;
      logger.info('materializer.sorted_sets_left', { views: Object.fromEntries(left) });
    } catch (error) {
      logger.warn('materializer.sorted_set_retirement_failed', { message: (error as Error).message });
    }
    if (!stopped) timer = setTimeout(() => void (running = attempt()), RETIRE_EVERY_MS).unref();
  };
  let running = attempt();
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
