/**
 * `skewless backfill VIEW [--from ISO] [--to ISO]`: recomputes an aggregation view's tiles from the
 * raw-event archive with the materializer's own fold and merge, then rewrites its online pieces
 * (materializer/backfill.ts, docs/backfill.md). Progress on stderr, the result on stdout.
 */
import type { Config } from '../config/config.ts';
import { ConfigError } from '../errors.ts';
import { toEpochMs } from '../features/time.ts';
import { Progress } from '../ingest/progress.ts';
import type { ProgressOutput } from '../ingest/progress.ts';
import { aggregationViewFor, backfillView } from '../materializer/backfill.ts';
import type { BackfillRange } from '../materializer/backfill.ts';
import { closeStores, openWriterStores } from '../stores/open.ts';
import { registryFor, reportingFailures, requireLastingStores } from './one-shot.ts';

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
  return reportingFailures('backfill', io.err, async () => {
    requireLastingStores(config, 'backfill');
    const registry = await registryFor(config, 'backfill', io.err);
    if (registry === undefined) return 1;
    const view = aggregationViewFor(registry, name);
    const stores = await openWriterStores(config);
    const clock = io.now ?? Date.now;
    let progress: Progress | undefined;
    try {
      const result = await backfillView(registry, stores, view, {
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
  });
}

function timeOption(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^-?\d+$/.test(value) ? Number(value) : /^\d{4}-\d{2}-\d{2}$/.test(value) ? toEpochMs(`${value}T00:00:00Z`) : toEpochMs(value);
  if (ms === undefined || !Number.isSafeInteger(ms)) throw new ConfigError(`--${flag} must be a time, got ${JSON.stringify(value)}; ${USAGE}`);
  return ms;
}

