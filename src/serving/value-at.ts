/**
 * What a stored online record means at instant T: the one function that turns a read into served values
 * and a status. The TTL rule inside it (statusAt) is the one historical retrieval uses.
 */
import type { SkewlessError } from '../errors.ts';
import { statusAt } from '../features/freshness.ts';
import type { FeatureView } from '../registry/types.ts';
import type { OnlineKey, OnlinePieces, OnlineRecord } from '../stores/types.ts';
import { aggregationValueAt, eventRangeAt } from './aggregation-online.ts';

export type FeatureStatus = 'PRESENT' | 'NOT_FOUND' | 'EXPIRED' | 'ERROR';

export interface ViewValue {
  readonly status: FeatureStatus;
  /** Feature values by name when PRESENT; null otherwise. */
  readonly values: Readonly<Record<string, unknown>> | null;
  /** Event time of the stored row, when there is one (also for EXPIRED). */
  readonly eventTs: number | null;
  readonly error: SkewlessError | null;
}

/**
 * The online read of a stored view for one entity at T: a row view's record, or an aggregation view's
 * pieces with the raw events a value at T folds.
 */
export function onlineKeyOf(view: FeatureView, entity: string, entityKey: string, asOf: number): OnlineKey {
  return view.kind === 'aggregation' ? { view: view.name, entity, entityKey, pieces: true, eventRange: eventRangeAt(view, asOf) } : { view: view.name, entity, entityKey };
}

/**
 * A row view's value is its newest row within the ttl. An aggregation view's value is always defined
 * (PRESENT, no event time): its windows at T, which hold no events (COUNT 0, AVG null) for an entity never
 * seen or gone quiet.
 */
export function viewValueAt(view: FeatureView, entry: OnlineRecord | OnlinePieces | null | SkewlessError, asOf: number): ViewValue {
  if (entry instanceof Error) return { status: 'ERROR', values: null, eventTs: null, error: entry };
  if (view.kind === 'aggregation') return aggregationValueAt(view, entry !== null && 'pieces' in entry ? entry : { pieces: {}, events: [] }, asOf);
  if (entry !== null && 'pieces' in entry) return { status: 'NOT_FOUND', values: null, eventTs: null, error: null };
  if (entry === null) return { status: 'NOT_FOUND', values: null, eventTs: null, error: null };
  const ttlMs = view.kind === 'onDemand' ? undefined : view.ttlMs;
  switch (statusAt(entry.eventTs, asOf, ttlMs)) {
    case 'PRESENT':
      return { status: 'PRESENT', values: entry.values, eventTs: entry.eventTs, error: null };
    case 'EXPIRED':
      return { status: 'EXPIRED', values: null, eventTs: entry.eventTs, error: null };
    case 'FUTURE':
      // The newest row is dated after T (clock skew between writer and gateway): as at T, nothing is known.
      return { status: 'NOT_FOUND', values: null, eventTs: null, error: null };
  }
}
