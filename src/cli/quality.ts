/**
 * `skewless quality stats|reference [VIEW[:FEATURE]] [--window W] [--end TIME]`: data-quality statistics
 * from the offline store, and explicit drift references (docs/data-quality.md).
 *
 * - `stats` prints featureStats as JSON lines, one per feature and window.
 * - `reference` captures a reference for the numeric features named from one window (default: the longest
 *   of --quality-windows) ending at --end (default now), and stores it: featureStats then measures drift
 *   against it instead of the last export's.
 */
import type { Config } from '../config/config.ts';
import { ConfigError } from '../errors.ts';
import { toEpochMs, toIso } from '../features/time.ts';
import { captureWindowReferences } from '../ops/quality/capture.ts';
import { MIN_REFERENCE_VALUES } from '../ops/quality/drift.ts';
import { featureStats } from '../ops/quality/feature-stats.ts';
import type { FeatureStats, QualityDeps } from '../ops/quality/feature-stats.ts';
import { qualityOptions } from '../ops/quality/options.ts';
import { closeStores, openStores } from '../stores/open.ts';
import { registryFor, reportingFailures, requireLastingStores } from './one-shot.ts';

const USAGE = 'usage: skewless quality stats [VIEW[:FEATURE]] | quality reference VIEW[:FEATURE], with [--window DURATION] [--end TIME] (TIME: ISO-8601 with a zone, or epoch ms)';

export interface QualityCommandOptions {
  readonly positionals: readonly string[];
  readonly window?: string | undefined;
  readonly end?: string | undefined;
}

export interface QualityIo {
  out(line: string): void;
  err(text: string): void;
  /** Clock, injectable for tests. Default Date.now. */
  readonly now?: () => number;
}

/** Exit code: 0 done; 1 refused or failed; usage errors throw ConfigError (2). */
export async function qualityCommand(config: Config, options: QualityCommandOptions, io: QualityIo): Promise<number> {
  const [action, target, extra] = options.positionals;
  if (action !== 'stats' && action !== 'reference') throw new ConfigError(`quality needs stats or reference${action === undefined ? '' : `, got "${action}"`}; ${USAGE}`);
  if (extra !== undefined) throw new ConfigError(`quality ${action}: unexpected argument "${extra}"; ${USAGE}`);
  if (action === 'reference' && target === undefined) throw new ConfigError(`quality reference needs the view (or view:feature) to capture; ${USAGE}`);
  const end = endOption(options.end);
  const [view, feature] = target === undefined ? [undefined, undefined] : target.includes(':') ? [undefined, target] : [target, undefined];
  return reportingFailures('quality', io.err, async () => {
    requireLastingStores(config, 'compute statistics from', { online: false });
    const registry = await registryFor(config, 'quality', io.err);
    if (registry === undefined) return 1;
    // The statistics read the offline store only: no online store is opened.
    const stores = await openStores({ ...config, redisUrl: undefined });
    const { offline } = stores;
    try {
      // Tables of views never written yet are created empty, so they describe nothing rather than fail.
      await offline.ensureSchema(registry);
      const deps: QualityDeps = { registry, offline, options: qualityOptions(config), now: (io.now ?? Date.now)() };
      if (action === 'stats') {
        for (const stats of await featureStats(deps, { view, feature, window: options.window, end })) io.out(JSON.stringify(statsJson(stats)));
        return 0;
      }
      const { captured, skipped } = await captureWindowReferences(deps, { view: view ?? feature!.split(':')[0]!, feature, window: options.window, end });
      for (const ref of captured) {
        io.out(`captured ${ref.view}:${ref.feature}: ${ref.proportions.length} bins from ${ref.sampleCount} values of ${toIso(ref.window!.from)} to ${toIso(ref.window!.to)} (${ref.note})`);
      }
      for (const s of skipped) io.err(`skipped ${s.ref}: ${s.values} values in the window, a reference needs at least ${MIN_REFERENCE_VALUES}`);
      if (captured.length === 0) {
        io.err('skewless quality reference: no reference captured (no numeric feature with enough values in the window)');
        return 1;
      }
      return 0;
    } finally {
      await closeStores(stores);
    }
  });
}

/** One line of `quality stats`: the statistics with times as ISO-8601 and the reference's bins left out. */
function statsJson(s: FeatureStats): Record<string, unknown> {
  const { drift, summary, from, to, ...rest } = s;
  return {
    ...rest,
    from: toIso(from),
    to: toIso(to),
    ...summary,
    drift: drift === null ? null : { psi: drift.psi, level: drift.level, values: drift.count, referenceAt: toIso(drift.reference.capturedAt), referenceOrigin: drift.reference.origin },
  };
}

function endOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^-?\d+$/.test(value) ? Number(value) : toEpochMs(value);
  if (ms === undefined || !Number.isSafeInteger(ms)) throw new ConfigError(`--end must be a time, got ${JSON.stringify(value)}; ${USAGE}`);
  return ms;
}
