/**
 * Drift references in the offline store (skewless.quality_references, sql.ts): created on first use,
 * appended to, the latest one per feature read back. Thin I/O around sql.ts.
 */
import { applySchemaPart } from '../../stores/sql/schema-applied.ts';
import type { OfflineStore } from '../../stores/types.ts';
import { insertReferencesSql, latestReferencesSql, referencesDdl } from './sql.ts';
import type { NewReference } from './sql.ts';

/** A stored reference, as featureStats reports it. */
export interface StoredReference {
  readonly view: string;
  readonly feature: string;
  readonly capturedAt: number;
  readonly origin: string;
  readonly note: string;
  readonly edges: readonly number[];
  readonly proportions: readonly number[];
  readonly sampleCount: number;
  readonly windowFrom: number | null;
  readonly windowTo: number | null;
}

type Offline = Pick<OfflineStore, 'query' | 'transaction'>;

// Once per store and process: the DDL takes a lock and round trips, and the table never goes away.
const ready = new WeakMap<Offline, Promise<void>>();

/** Creates the references table if it is missing; idempotent, concurrent gateways one at a time. */
export function ensureReferencesTable(offline: Offline): Promise<void> {
  let done = ready.get(offline);
  if (done === undefined) {
    done = offline.transaction(async (tx) => {
      // Gateways starting together would race on CREATE TABLE IF NOT EXISTS (as ensureSchema does).
      await tx.query(`select pg_advisory_xact_lock(hashtext('skewless.quality_references'))`);
      await applySchemaPart(tx, 'quality', referencesDdl());
    });
    // A failure is not remembered: the next caller tries again (the store may have been down).
    done.catch(() => ready.delete(offline));
    ready.set(offline, done);
  }
  return done;
}

export async function saveReferences(offline: Offline, refs: readonly NewReference[]): Promise<void> {
  if (refs.length === 0) return;
  await ensureReferencesTable(offline);
  const { sql, params } = insertReferencesSql(refs);
  await offline.query(sql, params);
}

/** The latest reference of each (view, feature) named that has one, by `view:feature`. */
export async function latestReferences(offline: Offline, pairs: readonly { readonly view: string; readonly feature: string }[]): Promise<Map<string, StoredReference>> {
  const out = new Map<string, StoredReference>();
  if (pairs.length === 0) return out;
  await ensureReferencesTable(offline);
  const { sql, params } = latestReferencesSql(pairs);
  const rows = await offline.query<Record<string, unknown>>(sql, params);
  for (const row of rows) {
    const ref: StoredReference = {
      view: row.view as string,
      feature: row.feature as string,
      capturedAt: row.captured_at as number,
      origin: row.origin as string,
      note: row.note as string,
      edges: row.edges as number[],
      proportions: row.proportions as number[],
      sampleCount: row.sample_count as number,
      windowFrom: (row.window_from as number | null) ?? null,
      windowTo: (row.window_to as number | null) ?? null,
    };
    out.set(`${ref.view}:${ref.feature}`, ref);
  }
  return out;
}
