/**
 * Retiring the sorted sets of raw events earlier versions left in the online store
 * (stores/redis/sorted-sets.ts). A materializer does it at start-up, and again every RETIRE_EVERY_MS
 * while any of its views has some left (their events age out: no writer adds to them any more);
 * `skewless rebuild-online` does it once after rebuilding. Each view with none left is marked, and
 * gateways stop asking for its sets on every read.
 */
import type { Logger } from '../ops/log.ts';
import type { Registry } from '../registry/registry.ts';
import type { AggregationView } from '../registry/types.ts';
import type { OnlineStore } from '../stores/types.ts';
import { eventFrom } from './online-retention.ts';

/** How long a materializer waits before trying again while sorted sets are left, ms. */
export const RETIRE_EVERY_MS = 10 * 60_000;

/**
 * One pass over the registry's aggregation views at the clock `now`: per view, how many sets are left (0:
 * marked). Undefined for a store that has no sorted sets to retire (the embedded one).
 */
export async function retireSortedSets(registry: Registry, online: OnlineStore, now: number): Promise<Map<string, number> | undefined> {
  const views = registry.views.filter((v): v is AggregationView => v.kind === 'aggregation');
  if (online.retireSortedSets === undefined || views.length === 0) return undefined;
  return online.retireSortedSets(new Map(views.map((v) => [v.name, eventFrom(v, now)])));
}

/** A materializer's retirement, beside consumption; `stop` cancels the next try and resolves once the one running is done. */
export function retireSortedSetsInBackground(registry: Registry, online: OnlineStore, logger: Logger): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const attempt = async (): Promise<void> => {
    try {
      const left = [...((await retireSortedSets(registry, online, Date.now())) ?? [])].filter(([, sets]) => sets > 0);
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
