/**
 * What the sampler keeps per online answer (pure). A request records cheaply — a reference to the entry it
 * read, or the value a transform computed — and the row written to the offline store is worked out here,
 * when the buffer is flushed, off the request path: a read's value at T is `viewValueAt` again, the same
 * pure function the request called, so it is what the request served.
 */
import { decodeKey } from '../../features/keys.ts';
import type { Registry } from '../../registry/registry.ts';
import type { FeatureView, OnDemandView } from '../../registry/types.ts';
import { servedValue } from '../../serving/frame.ts';
import { viewValueAt } from '../../serving/value-at.ts';
import type { ViewValue } from '../../serving/value-at.ts';
import type { OnlineKey, OnlinePieces, OnlineRecord } from '../../stores/types.ts';
import { onDemandPlan } from '../../transforms/plan.ts';
import type { SampleRow } from './tables.ts';

export type PendingSample =
  /** A stored view read from the online store for one entity. */
  | { readonly kind: 'read'; readonly asOf: number; readonly key: OnlineKey; readonly entry: OnlineRecord | OnlinePieces | null }
  /** An on-demand view computed for one row. */
  | {
      readonly kind: 'computed';
      readonly asOf: number;
      readonly view: OnDemandView;
      readonly keys: Readonly<Record<string, string>>;
      readonly request: Readonly<Record<string, unknown>>;
      readonly value: ViewValue;
    };

/** The row to write, or undefined when the answer was an ERROR (nothing was served, nothing to compare). */
export function sampleRow(registry: Registry, pending: PendingSample): SampleRow | undefined {
  if (pending.kind === 'computed') {
    const { view, value } = pending;
    if (value.status === 'ERROR') return undefined;
    return { ...base(view, pending.asOf, value), keys: pending.keys, request: pending.request, transforms: transformHashes(registry, view) };
  }
  const view = registry.view(pending.key.view);
  const entity = registry.entity(pending.key.entity);
  if (view === undefined || entity === undefined) return undefined;
  const value = viewValueAt(view, pending.entry, pending.asOf);
  if (value.status === 'ERROR') return undefined;
  const record = pending.entry !== null && 'createdTs' in pending.entry ? pending.entry : undefined;
  return { ...base(view, pending.asOf, value), keys: joinKeys(entity.joinKeys, pending.key.entityKey), request: null, createdTs: record?.createdTs ?? null, transforms: null };
}

function base(view: FeatureView, asOf: number, value: ViewValue) {
  const values: Record<string, unknown> = {};
  // Every feature, null when nothing was served: the reconciler judges each one, present or not.
  for (const f of view.features) values[f.name] = value.status === 'PRESENT' ? servedValue(f, value.values?.[f.name] ?? null) : null;
  return { asOf, view: view.name, status: value.status, values, eventTs: value.eventTs, createdTs: null };
}

/** Join key name → value (text) of an entity's canonical key. */
export function joinKeys(fields: readonly { readonly name: string }[], entityKey: string): Record<string, string> {
  const values = decodeKey(entityKey, fields.length);
  return Object.fromEntries(fields.map((f, i) => [f.name, values[i]!]));
}

const hashes = new WeakMap<OnDemandView, Readonly<Record<string, string>>>();

/**
 * The code behind an on-demand view's value: the sha256 of its transform and of every on-demand view it
 * reads through, by view name. A change to any of them changes the value, so all are compared.
 */
export function transformHashes(registry: Registry, view: OnDemandView): Readonly<Record<string, string>> {
  let out = hashes.get(view);
  if (out === undefined) {
    out = Object.fromEntries(onDemandPlan(registry, [view]).views.map((v) => [v.name, v.transform.sha256]));
    hashes.set(view, out);
  }
  return out;
}
