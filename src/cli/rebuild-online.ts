/**
 * `skewless rebuild-online`: the online store rewritten from PostgreSQL, the source of truth — every row
 * view's newest row per entity and every aggregation view's pieces (rebuildOnline, online-sync.ts). For a
 * Redis that lost its data (FLUSHALL, a new server, a failover without persistence). Every write is
 * only-if-newer, so it is safe while gateways and materializers run (materializers of this version: it
 * marks views whose sorted sets of raw events are gone, which versions before buckets still write).
 * Progress on stderr, the result on stdout.
 */
import type { Config } from '../config/config.ts';
import { Progress } from '../ingest/progress.ts';
import { rebuildOnline } from '../materializer/online-sync.ts';
import { sortedSetsLeft } from '../materializer/sorted-set-retirement.ts';
import type { Registry } from '../registry/registry.ts';
import type { OnlineStore } from '../stores/types.ts';
import { closeStores, openWriterStores } from '../stores/open.ts';
import type { CommandIo } from './backfill.ts';
import { registryFor, reportingFailures, requireLastingStores } from './one-shot.ts';

/**
 * A store rebuilt after it lost its data has lost its marks too: they are made again here, not only when a
 * materializer next starts (sorted-set-retirement.ts). What is left, or a failure, is a line of the report
 * (empty when every view is marked), not a failed rebuild.
 */
async function retirement(registry: Registry, online: OnlineStore, now: number): Promise<string> {
  try {
    const left = await sortedSetsLeft(registry, online, now);
    return left.size === 0 ? '' : `sorted sets of raw events an earlier version kept, still within reach: ${[...left].map(([view, sets]) => `${view} ${sets}`).join(', ')}`;
  } catch (error) {
    return `sorted sets of raw events an earlier version kept: not retired (${(error as Error).message}); a materializer retires them when it starts`;
  }
}

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
      io.out([`rebuilt the online store from PostgreSQL: ${total} entity writes over ${lines.length} views`, ...lines, await retirement(registry, stores.online, (io.now ?? Date.now)())].filter((l) => l !== '').join('\n'));
      return 0;
    } catch (error) {
      progress.abandon();
      throw error;
    } finally {
      await closeStores(stores);
    }
  });
}
