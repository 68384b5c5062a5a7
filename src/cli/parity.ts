/**
 * `skewless parity [--since TIME]`: one reconciliation pass over the parity samples gateways wrote
 * (ops/parity/, docs/parity.md) — every sample older than --parity-settle and not judged yet is replayed
 * through the historical path — then a summary on stdout: this pass's verdicts by outcome and feature, and
 * the newest mismatches on record.
 *
 * Exit code: 0 when everything this pass judged agreed (or there was nothing to judge); 3 when it found a
 * disagreement (MISMATCH, MISSING_ONLINE or MISSING_OFFLINE), so a cron job or CI step can alert on it
 * without parsing; 1 when it could not run (schema, stores); 2 for usage errors.
 */
import type { Config } from '../config/config.ts';
import { ConfigError } from '../errors.ts';
import { formatDuration, parseDuration } from '../features/duration.ts';
import { toEpochMs, toIso } from '../features/time.ts';
import { OUTCOMES } from '../ops/parity/judge.ts';
import type { OutcomeCounts } from '../ops/parity/judge.ts';
import { reconcileParity } from '../ops/parity/reconcile.ts';
import { recentVerdicts } from '../ops/parity/report.ts';
import { ensureParityTables } from '../ops/parity/tables.ts';
import { closeStores, openStores } from '../stores/open.ts';
import { startTransforms } from '../transforms/start.ts';
import { registryFor, reportingFailures, requireLastingStores } from './one-shot.ts';

const USAGE = 'usage: skewless parity [--since TIME] (TIME: ISO-8601 with a zone, epoch ms, or a duration such as 24h meaning that long ago)';

/** Exit code when the pass found online and offline disagreeing. */
export const EXIT_DISAGREEMENT = 3;

/** Mismatches listed after the summary. */
const LISTED = 10;

export interface ParityCommandIo {
  out(line: string): void;
  err(text: string): void;
  /** Clock, injectable for tests. Default Date.now. */
  readonly now?: () => number;
}

export async function parityCommand(config: Config, options: { readonly since?: string | undefined }, io: ParityCommandIo): Promise<number> {
  const now = (io.now ?? Date.now)();
  const since = sinceOption(options.since, now);
  return reportingFailures('parity', io.err, async () => {
    // The samples are in the offline store the gateways write to.
    requireLastingStores(config, 'reconcile parity in', { online: false });
    const registry = await registryFor(config, 'parity', io.err);
    if (registry === undefined) return 1;
    // The replay reads the offline store only: no online store is opened.
    const stores = await openStores({ ...config, redisUrl: undefined });
    let transforms;
    try {
      // Tables of views never written yet are made empty, so their samples replay to nothing rather than fail.
      await stores.offline.ensureSchema(registry);
      await ensureParityTables(stores.offline);
      transforms = await startTransforms(registry, { size: config.transformPoolSize, memoryMb: config.transformMemoryMb, timeoutMs: config.transformTimeoutMs });
      const summary = await reconcileParity({ registry, stores, transforms }, { now, settleMs: config.paritySettleMs, since, retentionMs: config.parityRetentionMs });
      const listed = await recentVerdicts(stores.offline, 'MISMATCH', { since, limit: LISTED });
      const lines = [
        `parity: judged ${summary.samples} sample(s) taken ${since === undefined ? '' : `from ${toIso(since)} `}up to ${toIso(summary.settledBy)} (settle ${formatDuration(config.paritySettleMs)})`,
        `  ${counts(summary.totals)}`,
        ...summary.features.map((f) => `  ${`${f.view}:${f.feature}`.padEnd(32)} ${counts(f.counts, true)}`),
      ];
      if (summary.pruned > 0) lines.push(`  (${summary.pruned} sample(s) older than ${formatDuration(config.parityRetentionMs)} deleted)`);
      if (listed.length > 0) {
        lines.push(`newest mismatches${since === undefined ? '' : ` since ${toIso(since)}`}:`);
        for (const v of listed) lines.push(`  ${v.view}:${v.feature} ${JSON.stringify(v.keys)} at ${toIso(v.asOf)}: online ${JSON.stringify(v.onlineValue)}, offline ${JSON.stringify(v.offlineValue)}`);
      }
      io.out(lines.join('\n'));
      const { MISMATCH, MISSING_ONLINE, MISSING_OFFLINE } = summary.totals;
      return MISMATCH + MISSING_ONLINE + MISSING_OFFLINE > 0 ? EXIT_DISAGREEMENT : 0;
    } finally {
      await transforms?.close();
      await closeStores(stores);
    }
  });
}

/** `MATCH 12  MISMATCH 1 …`: every outcome, or only those counted. */
function counts(c: OutcomeCounts, nonZeroOnly = false): string {
  return OUTCOMES.filter((o) => !nonZeroOnly || c[o] > 0)
    .map((o) => `${o} ${c[o]}`)
    .join('  ');
}

function sinceOption(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const ago = parseDuration(value);
  const ms = ago !== undefined ? now - ago : /^-?\d+$/.test(value) ? Number(value) : toEpochMs(value);
  if (ms === undefined || !Number.isSafeInteger(ms)) throw new ConfigError(`--since must be a time or a duration, got ${JSON.stringify(value)}; ${USAGE}`);
  return ms;
}
