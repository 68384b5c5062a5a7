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
 * One pass over the registry's aggregation views at the clock `now`: the views that still have sorted
 * sets, with how many (empty: every view marked). Empty too for a store with none to retire (the embedded one).
 */
export async function sortedSetsLeft(registry: Registry, online: OnlineStore, now: number, signal?: AbortSignal): Promise<Map<string, number>> {
  const views = registry.views.filter((v): v is AggregationView => v.kind === 'aggregation');
  if (online.retireSortedSets === undefined || views.length === 0) return new Map();
  const left = await online.retireSortedSets(new Map(views.map((v) => [v.name, eventFrom(v, now)])), signal);
  return new Map([...left].filter(([, sets]) => sets > 0));
}

/**
 * A materializer's retirement, beside consumption. `stop` stops the pass under way between two SCAN
 * batches and cancels the next, resolving once nothing runs.
 */
export function retireSortedSetsInBackground(registry: Registry, online: OnlineStore, logger: Logger): { stop(): Promise<void> } {
  const stopping = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const attempt = async (): Promise<void> => {
    try {
      const left = await sortedSetsLeft(registry, online, Date.now(), stopping.signal);
      if (left.size === 0) return;
      logger.info('materializer.sorted_sets_left', { views: Object.fromEntries(left) });
    } catch (error) {
      if (stopping.signal.aborted) return;
      logger.warn('materializer.sorted_set_retirement_failed', { message: (error as Error).message });
    }
    if (!stopping.signal.aborted) timer = setTimeout(() => void (running = attempt()), RETIRE_EVERY_MS).unref();
  };
  let running = attempt();
  return {
    stop: async () => {
      stopping.abort();
      clearTimeout(timer);
      await running;
    },
  };
}
