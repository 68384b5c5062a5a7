/**
 * Seeding the demo: a month of synthetic transactions replayed through the materializer's own commit
 * (via the in-process event source, so the archive, aggregation tiles, offsets and online values are
 * written exactly as Kafka would have them written), plus the nightly `user_txn_stats` rows pushed the way
 * `pushFeatures` pushes them. Afterwards every example feature has values for card holders u1 … u300 and
 * merchants m1 … m50, online and back through the month.
 *
 * The data is made for the example repository (schema/): with a registry lacking its `Transaction`
 * source the demo does nothing and says why.
 */
import { SkewlessError } from '../errors.ts';
import { MS_PER } from '../features/duration.ts';
import { toIso } from '../features/time.ts';
import { checkRows, writeRows } from '../ingest/push.ts';
import type { TimeBounds } from '../materializer/batch.ts';
import { committedOffsets, openInProcessSource } from '../materializer/in-process.ts';
import type { Logger } from '../ops/log.ts';
import type { Registry } from '../registry/registry.ts';
import type { EventSource, RowView } from '../registry/types.ts';
import type { Stores } from '../stores/open.ts';
import { DEFAULT_DEMO_SHAPE, generateTransactions } from './transactions.ts';
import type { DemoShape, DemoTransaction } from './transactions.ts';
import { nightlyUserStats } from './user-stats.ts';

/** The offsets of the demo's replay are kept under this name, apart from any Kafka consumer group's. */
export const DEMO_GROUP = 'skewless-demo';
export const DEMO_SOURCE = 'Transaction';
export const DEMO_STATS_VIEW = 'user_txn_stats';

export type DemoResult =
  | {
      readonly seeded: true;
      /** Transactions committed through the in-process event source. */
      readonly events: number;
      /** Nightly user_txn_stats rows pushed (0 when the registry has no such view). */
      readonly statsRows: number;
      readonly seed: number;
      readonly users: number;
      readonly merchants: number;
      /** The period the transactions cover, [from, until), epoch ms. */
      readonly from: number;
      readonly until: number;
      readonly ms: number;
    }
  | { readonly seeded: false; readonly reason: string };

export interface DemoOptions {
  /** Overrides of the default month of data (DEFAULT_DEMO_SHAPE, ending now). */
  readonly shape?: Partial<DemoShape>;
  /** The materializer's lateness and skew bounds (--allowed-lateness, --max-future-skew). Default 1d and 1m. */
  readonly bounds?: TimeBounds;
}

/**
 * Seeds the demo into stores whose schema is prepared. Logs `demo.seeding` when it starts, then
 * `demo.seeded` (what, how many, how long) or `demo.skipped` (why).
 */
export async function seedDemo(registry: Registry, stores: Stores, options: DemoOptions = {}, logger?: Logger): Promise<DemoResult> {
  const started = performance.now();
  const skip = (reason: string): DemoResult => {
    logger?.info('demo.skipped', { reason });
    return { seeded: false, reason };
  };
  const source = registry.source(DEMO_SOURCE);
  if (source === undefined) return skip(`the registry has no ${DEMO_SOURCE} source (the demo data is made for the example in schema/)`);
  const unusable = unusableSource(source);
  if (unusable !== undefined) return skip(unusable);
  if ((await committedOffsets(stores, DEMO_GROUP)).size > 0) {
    // A persistent store (--pglite-dir, or a database) seeded by an earlier start: seeding again would
    // add a second, overlapping month. Its values age from when it was seeded.
    return skip('the offline store already holds demo data from an earlier start (delete it, e.g. the --pglite-dir directory, to seed afresh)');
  }

  const full: DemoShape = { ...DEFAULT_DEMO_SHAPE, until: Date.now(), ...options.shape };
  const from = full.until - full.days * MS_PER.d;
  logger?.info('demo.seeding', { transactions: full.transactions, days: full.days, users: full.users, merchants: full.merchants });
  const transactions = generateTransactions(full);

  const events = await openInProcessSource(registry, stores, { group: DEMO_GROUP, ...(options.bounds === undefined ? {} : { bounds: options.bounds }) }, logger);
  const withCountry = source.fields.some((f) => f.name === 'country');
  for (const t of transactions) events.produce({ topic: source.topic, key: t.userId, value: message(t, withCountry), timestampMs: t.publishedAt });
  const consumed = await events.drain();

  let statsRows = 0;
  const view = registry.view(DEMO_STATS_VIEW);
  if (view?.kind === 'row') {
    try {
      statsRows = await pushUserStats(registry, stores, view, transactions, full, from);
    } catch (error) {
      // The view was edited into a shape the simulated job does not fill: the streamed data still stands.
      if (!(error instanceof SkewlessError && error.code === 'INVALID_ROWS')) throw error;
      logger?.warn('demo.stats_skipped', { view: view.name, reason: error.message });
    }
  }

  const result = { seeded: true, events: consumed.events, statsRows, seed: full.seed, users: full.users, merchants: full.merchants, from, until: full.until, ms: Math.round(performance.now() - started) } as const;
  logger?.info('demo.seeded', {
    events: result.events,
    userTxnStatsRows: statsRows,
    users: `u1…u${full.users}`,
    merchants: `m1…m${full.merchants}`,
    from: toIso(from),
    until: toIso(full.until),
    seed: full.seed,
    ms: result.ms,
    ...(consumed.deadLetters > 0 ? { deadLetters: consumed.deadLetters } : {}),
  });
  return result;
}

/** Why the registry's Transaction source cannot take the demo's messages, or undefined when it can. */
function unusableSource(source: EventSource): string | undefined {
  const wanted: Record<string, readonly string[]> = { user_id: ['ID', 'String'], merchant_id: ['ID', 'String'], amount: ['Float'], event_time: ['DateTime'], country: ['String'] };
  if (source.timestampField !== 'event_time') return `source ${source.name} is timed by "${source.timestampField}", not event_time`;
  for (const field of source.fields) {
    const types = wanted[field.name];
    if (types === undefined ? !field.type.nullable : field.type.list || !types.includes(field.type.scalar)) return `source ${source.name} field ${field.name} is not what the demo data provides`;
  }
  const missing = ['user_id', 'merchant_id', 'amount'].find((name) => !source.fields.some((f) => f.name === name));
  return missing === undefined ? undefined : `source ${source.name} has no field ${missing}`;
}

function message(t: DemoTransaction, withCountry: boolean): Record<string, unknown> {
  const value: Record<string, unknown> = { user_id: t.userId, merchant_id: t.merchantId, amount: t.amount, event_time: toIso(t.eventTime) };
  if (withCountry) value.country = t.country;
  return value;
}

/** The nightly job's rows, through the push path's validation and writes; only the features the view declares. */
async function pushUserStats(registry: Registry, stores: Stores, view: RowView, transactions: readonly DemoTransaction[], shape: DemoShape, from: number): Promise<number> {
  const users = Array.from({ length: shape.users }, (_, i) => `u${i + 1}`);
  const declared = new Set(view.features.map((f) => f.name));
  const rows = nightlyUserStats(transactions, users, from, shape.until).map((row) => Object.fromEntries(Object.entries(row).filter(([name]) => declared.has(name) || name === 'user_id' || name.endsWith('_timestamp'))));
  if (rows.length === 0) return 0;
  const result = await writeRows(stores, view, checkRows(registry, view, rows, { arrivalMs: shape.until }));
  return result.rows;
}
