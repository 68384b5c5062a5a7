/**
 * `skewless backfill VIEW [--from ISO] [--to ISO]`: recomputes an aggregation view's tiles from the
 * raw-event archive with the materializer's own fold and merge, then rewrites its online pieces
 * (materializer/backfill.ts, docs/backfill.md). Progress on stderr, the result on stdout.
 */
import type { Config } from '../config/config.ts';
import { ConfigError, SkewlessError } from '../errors.ts';
import { toEpochMs } from '../features/time.ts';
import { Progress } from '../ingest/progress.ts';
import type { ProgressOutput } from '../ingest/progress.ts';
import { aggregationViewFor, backfillView } from '../materializer/backfill.ts';
import type { BackfillRange } from '../materializer/backfill.ts';
import { loadRegistry } from '../registry/load.ts';
import { closeStores, openStores } from '../stores/open.ts';
import { problemReport } from './validate.ts';

const USAGE = 'usage: skewless backfill VIEW [--from TIME] [--to TIME] (TIME: ISO-8601 with a zone, a UTC date YYYY-MM-DD, or epoch ms)';

export interface BackfillCommandOptions {
  readonly positionals: readonly string[];
  /** --from TIME: oldest event time recomputed (aligned down to whole tiles). Default: the archive's start. */
  readonly from?: string | undefined;
  /** --to TIME: event times before this are recomputed (aligned up to whole tiles). Default: the archive's end. */
  readonly to?: string | undefined;
}

export interface CommandIo {
  /** The result (stdout). */
  out(line: string): void;
  /** Problems and notes (stderr). */
  err(text: string): void;
  /** Where progress goes (stderr); redrawn in place when it is a terminal. */
  readonly progress: ProgressOutput;
  /** Clock, injectable for tests. Default Date.now. */
  readonly now?: () => number;
}

/** Exit code: 0 done; 1 refused or failed (unknown or row view, stores); usage errors throw ConfigError (2). */
export async function backfillCommand(config: Config, options: BackfillCommandOptions, io: CommandIo): Promise<number> {
  const [name, extra] = options.positionals;
  if (name === undefined) throw new ConfigError(`backfill needs the aggregation view to recompute; ${USAGE}`);
  if (extra !== undefined) throw new ConfigError(`backfill: unexpected argument "${extra}"; ${USAGE}`);
  const range: BackfillRange = { from: timeOption('from', options.from), to: timeOption('to', options.to) };
  try {
    requireLastingStores(config, 'backfill');
    const loaded = await loadRegistry(config);
    if (!loaded.ok) {
      io.err(`skewless backfill: the schema has problems\n${problemReport(loaded.problems)}`);
      return 1;
    }
    const view = aggregationViewFor(loaded.registry, name);
    const stores = await openStores(config);
    const clock = io.now ?? Date.now;
    let progress: Progress | undefined;
    try {
      const result = await backfillView(loaded.registry, stores, view, {
        range,
        chunkEvents: config.backfillChunk,
        now: clock(),
        onProgress: (done, total) => {
          progress ??= new Progress(io.progress, `backfilling ${view.name}`, `backfilled ${view.name}:`, total, { now: io.now, unit: 'events', totalIn: 'units' });
          progress.update(done, done);
        },
      });
      progress?.finish(result.events);
      const span = `${range.from === undefined ? 'the start of the archive' : new Date(range.from).toISOString()} to ${range.to === undefined ? 'its end' : new Date(range.to).toISOString()}`;
      io.out(
        `backfilled ${view.name} from ${span} (aligned outward to whole tiles): ${result.events} archived events, ${result.merges} tile and slice merges (versions from ${result.baseVersion}), online pieces rewritten for ${result.onlineEntities} entities`,
      );
      return 0;
    } catch (error) {
      progress?.abandon();
      throw error;
    } finally {
      await closeStores(stores);
    }
  } catch (error) {
    if (error instanceof SkewlessError && error.code !== 'INVALID_CONFIG') {
      io.err(`skewless backfill: ${error.message} (${error.code})`);
      return 1;
    }
    throw error;
  }
}

function timeOption(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^-?\d+$/.test(value) ? Number(value) : /^\d{4}-\d{2}-\d{2}$/.test(value) ? toEpochMs(`${value}T00:00:00Z`) : toEpochMs(value);
  if (ms === undefined || !Number.isSafeInteger(ms)) throw new ConfigError(`--${flag} must be a time, got ${JSON.stringify(value)}; ${USAGE}`);
  return ms;
}

/**
 * Backfill and rebuild read and write the stores the gateway and materializers use; against the embedded
 * ones (this process's memory) they would do nothing useful and report success. Refuse instead.
 */
export function requireLastingStores(config: Config, command: string): void {
  const missing: string[] = [];
  if (config.databaseUrl === undefined && config.pgliteDir === undefined) {
    missing.push('the offline store would be an empty in-memory PGlite: set DATABASE_URL (or --database-url), or --pglite-dir DIR for an embedded store kept on disk');
  }
  if (config.redisUrl === undefined) missing.push("the online store would be this process's memory: set REDIS_URL (or --redis-url)");
  if (missing.length > 0) throw new SkewlessError('NEEDS_STORES', `refusing to ${command} stores that vanish when the command exits: ${missing.join('; ')}`);
}
