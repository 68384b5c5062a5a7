/**
 * Keeps the data-quality gauges current in `skewless serve`: every interval, featureStats for every
 * stored view over the configured windows, then the gauges are replaced in one step. Runs on a timer, never
 * on a request: reading windows of history is work for the offline store, not for the online read path.
 *
 * One run at a time: the next is scheduled when the previous finishes, so a slow store stretches the
 * interval instead of piling runs up. A view that fails is logged, counted and left out of that run; the
 * other views are still published.
 */
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { featureStats } from './feature-stats.ts';
import type { FeatureStats, QualityDeps } from './feature-stats.ts';
import { registerQualityGauges } from './gauges.ts';

export interface RefresherDeps extends Omit<QualityDeps, 'now'> {
  /** The process's metrics registry; the gauges are registered on it once, here. */
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Time between the end of one run and the start of the next, ms. */
  readonly intervalMs: number;
  /** Clock, injectable for tests. Default Date.now. */
  readonly now?: () => number;
}

export interface QualityRefresher {
  /** One run now (or the one already running); resolves when the gauges are set. */
  refresh(): Promise<void>;
  /** Runs now, then every interval until stopped. */
  start(): void;
  /** Cancels the next run and waits for one in progress, so the stores can be closed after. */
  stop(): Promise<void>;
}

export function createQualityRefresher(deps: RefresherDeps): QualityRefresher {
  const gauges = registerQualityGauges(deps.metrics);
  const clock = deps.now ?? Date.now;
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const run = async (): Promise<void> => {
    const started = clock();
    const stats: FeatureStats[] = [];
    for (const view of deps.registry.views) {
      if (view.kind === 'onDemand') continue;
      try {
        stats.push(...(await featureStats({ ...deps, now: started }, { view: view.name })));
      } catch (error) {
        gauges.failed(view.name);
        deps.logger.warn('quality.view_failed', { view: view.name, error: error instanceof Error ? error.message : String(error) });
      }
    }
    const finished = clock();
    gauges.publish(stats, finished, finished - started);
    deps.logger.debug('quality.refreshed', { series: stats.length, ms: finished - started });
  };

  const refresh = (): Promise<void> => {
    running ??= run().finally(() => (running = undefined));
    return running;
  };

  const schedule = (delayMs: number): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      // run() catches per view; anything else (a bug) is logged rather than left unhandled.
      void refresh()
        .catch((error: unknown) => deps.logger.error('quality.refresh_failed', { error: error instanceof Error ? error.message : String(error) }))
        .finally(() => schedule(deps.intervalMs));
    }, delayMs);
    // The refresher never keeps the process alive on its own.
    timer.unref();
  };

  return {
    refresh,
    start: () => schedule(0),
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
