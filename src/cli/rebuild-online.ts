/**
 * `skewless rebuild-online`: the online store rewritten from PostgreSQL, the source of truth — every row
 * view's newest row per entity and every aggregation view's pieces (rebuildOnline, online-sync.ts). For a
 * Redis that lost its data (FLUSHALL, a new server, a failover without persistence). Every write is
 * only-if-newer, so it is safe while gateways and materializers run. Progress on stderr, the result on stdout.
 */
import type { Config } from '../config/config.ts';
import { Progress } from '../ingest/progress.ts';
import { rebuildOnline } from '../materializer/online-sync.ts';
import { retireSortedSets } from '../materializer/sorted-set-retirement.ts';
import { closeStores, openWriterStores } from '../stores/open.ts';
import type { CommandIo } from './backfill.ts';
import { registryFor, reportingFailures, requireLastingStores } from './one-shot.ts';

/** Exit code: 0 rebuilt; 1 failed (schema, stores). */
export async function rebuildOnlineCommand(config: Config, io: CommandIo): Promise<number> {
  return reportingFailures('rebuild-online', io.err, async () => {
    requireLastingStores(config, 'rebuild-online');
    const registry = await registryFor(config, 'rebuild-online', io.err);
    if (registry === undefined) return 1;
    const stores = await openWriterStores(config);
    const stored = registry.views.filter((v) => v.kind !== 'onDemand').length;
    const progress = new Progress(io.progress, 'rebuilding online', 'rebuilt', stored, { now: io.now, unit: 'views', totalIn: 'units' });
    const lines: string[] = [];
    try {
      // Tables of views never written yet are created empty, so they rebuild to nothing rather than fail.
      await stores.offline.ensureSchema(registry);
      const total = await rebuildOnline(
        registry,
        stores,
        (view, writes) => {
          lines.push(`  ${view}: ${writes} entities`);
          progress.update(lines.length, lines.length);
        },
        (io.now ?? Date.now)(),
      );
      progress.finish(lines.length);
      // A store rebuilt after it lost its data has lost its marks too: made again here, not only when a
      // materializer next starts.
      const left = [...((await retireSortedSets(registry, stores.online, (io.now ?? Date.now)())) ?? [])].filter(([, sets]) => sets > 0);
      const sets = left.length === 0 ? [] : [`sorted sets of raw events an earlier version kept, still within reach: ${left.map(([view, n]) => `${view} ${n}`).join(', ')}`];
      io.out([`rebuilt the online store from PostgreSQL: ${total} entity writes over ${lines.length} views`, ...lines, ...sets].join('\n'));
      return 0;
    } catch (error) {
      progress.abandon();
      throw error;
    } finally {
      await closeStores(stores);
    }
  });
}
