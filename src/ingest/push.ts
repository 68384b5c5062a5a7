/**
 * Writing feature rows: validate every row, append them to the view's offline history (the source of
 * truth), then write the newest row per entity online, only if newer than what is stored. The push
 * mutation and bulk ingest both come here, so both have the same validation and semantics.
 */
import { SkewlessError } from '../errors.ts';
import { replaces } from '../features/freshness.ts';
import type { Registry } from '../registry/registry.ts';
import { closest } from '../registry/suggest.ts';
import type { RowView } from '../registry/types.ts';
import type { Stores } from '../stores/open.ts';
import type { OnlineWrite } from '../stores/types.ts';
import { formatRowError, validateRows } from './rows.ts';
import type { FeatureRow, RowOptions } from './rows.ts';

export interface PushResult {
  readonly view: string;
  /** Rows appended to offline history. */
  readonly rows: number;
  /** Entities whose online value this push replaced. */
  readonly onlineWritten: number;
  /** Entities whose stored online value was newer and was kept. */
  readonly onlineKept: number;
}

/** The row view a push names, or a coded error. */
export function rowViewFor(registry: Registry, name: string): RowView {
  const view = registry.view(name);
  if (view === undefined) {
    const hint = closest(name, registry.views.map((v) => v.name));
    throw new SkewlessError('UNKNOWN_VIEW', `unknown feature view "${name}"${hint === undefined ? '' : ` (did you mean "${hint}"?)`}`, { httpStatus: 400 });
  }
  if (view.kind !== 'row') {
    throw new SkewlessError('NOT_A_ROW_VIEW', `view ${name} is ${view.kind === 'aggregation' ? 'computed from its source' : 'computed on demand'}; only row views accept pushed rows`, { httpStatus: 400 });
  }
  return view;
}

/** Validates all rows; throws INVALID_ROWS listing every bad one when any is bad. */
export function checkRows(registry: Registry, view: RowView, rows: readonly unknown[], options: RowOptions): FeatureRow[] {
  const result = validateRows(view, registry.entity(view.entity)!, rows, options);
  if (result.ok) return result.rows;
  const count = `${result.errors.length}${result.truncated ? '+' : ''}`;
  const badRows = new Set(result.errors.map((e) => e.index)).size;
  const shown = result.errors.slice(0, 20).map(formatRowError).join('; ');
  const more = result.errors.length > 20 || result.truncated ? '; …' : '';
  throw new SkewlessError('INVALID_ROWS', `${count} problem(s) in ${badRows}${result.truncated ? '+' : ''} row(s), nothing written: ${shown}${more}`, {
    httpStatus: 400,
    details: { rowErrors: result.errors, truncated: result.truncated },
  });
}

/** Only each entity's newest row can matter online: one write per entity (the materializer's too). */
export function newestWrites(view: RowView, rows: readonly FeatureRow[]): OnlineWrite[] {
  const newest = new Map<string, FeatureRow>();
  for (const row of rows) if (replaces(row, newest.get(row.entityKey))) newest.set(row.entityKey, row);
  return [...newest.values()].map((r) => ({ view: view.name, entity: view.entity, entityKey: r.entityKey, eventTs: r.eventTs, createdTs: r.createdTs, values: r.values }));
}

/** Writes validated rows: offline history first, then online. */
export async function writeRows(stores: Stores, view: RowView, rows: readonly FeatureRow[]): Promise<PushResult> {
  await stores.offline.appendHistory(view, rows);
  const writes = newestWrites(view, rows);
  const results = await stores.online.writeIfNewer(writes);
  const failed = results.find((r): r is SkewlessError => r instanceof SkewlessError);
  if (failed !== undefined) {
    // History is committed; the online store is derived from it and can be rebuilt, and a retried push
    // is harmless (the same rows again change no as-of answer).
    throw new SkewlessError('ONLINE_STORE_UNAVAILABLE', `${rows.length} row(s) saved to offline history, but the online store could not be updated: ${failed.message}`, {
      retriable: true,
      httpStatus: 503,
      details: { offlineRows: rows.length },
      cause: failed,
    });
  }
  return { view: view.name, rows: rows.length, onlineWritten: results.filter((r) => r === true).length, onlineKept: results.filter((r) => r === false).length };
}

export async function pushRows(registry: Registry, stores: Stores, viewName: string, rows: readonly unknown[], options: RowOptions & { maxRows: number }): Promise<PushResult> {
  const view = rowViewFor(registry, viewName);
  if (rows.length > options.maxRows) {
    throw new SkewlessError('PUSH_TOO_LARGE', `${rows.length} rows in one push; the limit is ${options.maxRows} (--max-push-rows). Split the batch, or use \`skewless ingest\` for bulk loads`, { httpStatus: 413 });
  }
  return writeRows(stores, view, checkRows(registry, view, rows, options));
}
