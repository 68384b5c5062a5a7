/**
 * Which features a request asks for: `features` refs (`view:feature` or a bare `view`) or a feature
 * service, resolved against the registry once per request into the columns of the answer. Unknown refs are
 * reported all at once with the closest existing names. Shared by online and historical retrieval.
 */
import { SkewlessError } from '../errors.ts';
import type { Registry } from '../registry/registry.ts';
import { closest } from '../registry/suggest.ts';
import type { Entity, Feature, FeatureView } from '../registry/types.ts';
import { onDemandPlan } from '../transforms/plan.ts';
import type { OnDemandPlan } from '../transforms/plan.ts';
import type { TransformUsed } from './frame.ts';

export interface Selection {
  /** Feature columns in answer order: each `view:feature` with its view and feature. */
  readonly columns: readonly { readonly ref: string; readonly view: FeatureView; readonly feature: Feature }[];
  /** The distinct views touched, in first-seen order. */
  readonly views: readonly FeatureView[];
  /** Entities whose join keys every entity row must carry, in first-seen order. */
  readonly entities: readonly Entity[];
  /** Join key column names, in first-seen order. */
  readonly joinKeys: readonly string[];
  /** For each column, the index of its view in `views`: worked out once, not per row. */
  readonly columnViews: readonly number[];
  /** How to compute the on-demand views selected; undefined when there are none. */
  readonly onDemand: OnDemandPlan | undefined;
  /**
   * Stored views to read: those selected and those the on-demand views read, in first-seen order. For
   * an input view that is not itself selected, every feature is read (the transform sees them all).
   */
  readonly storedViews: readonly FeatureView[];
  /** Where each of `views` comes from: its index in storedViews, or -1 for an on-demand view. */
  readonly viewStored: readonly number[];
  /** Where each of `views` comes from: its index in onDemand.views (the plan's steps), or -1 for a stored one. */
  readonly viewSteps: readonly number[];
  /** storedViews by name: index. */
  readonly storedIndex: ReadonlyMap<string, number>;
  /** The transforms (with content hashes) behind the on-demand views, as every frame reports them. */
  readonly transforms: readonly TransformUsed[];
}

/** Unknown refs with suggestions; empty when all are known. */
export function unknownRefs(registry: Registry, refs: readonly string[]): { ref: string; suggestion: string | undefined }[] {
  const { unknown } = registry.expandRefs(refs);
  if (unknown.length === 0) return [];
  // Only on the error path: suggestions scan every name.
  const known = [...registry.featureRefs(), ...registry.views.map((v) => v.name)];
  return unknown.map((ref) => ({ ref, suggestion: closest(ref, known) }));
}

export function unknownFeatureError(unknown: readonly { ref: string; suggestion: string | undefined }[]): SkewlessError {
  const list = unknown.map((u) => `"${u.ref}"${u.suggestion === undefined ? '' : ` (did you mean "${u.suggestion}"?)`}`).join(', ');
  return new SkewlessError('UNKNOWN_FEATURE', `unknown feature${unknown.length === 1 ? '' : 's'}: ${list}`, {
    httpStatus: 400,
    details: { unknown: unknown.map((u) => u.ref), suggestions: Object.fromEntries(unknown.map((u) => [u.ref, u.suggestion ?? null])) },
  });
}

// Inference apps send the same few feature lists over and over: resolve each once, not per request.
// Bounded, so arbitrary client lists cannot grow it without limit.
const MEMO_LIMIT = 1024;
const memo = new WeakMap<Registry, Map<string, Selection>>();

export function selectFeatures(registry: Registry, args: { features?: readonly string[] | null; service?: string | null }): Selection {
  const id = args.service != null ? `s\u0000${args.service}\u0000${args.features?.join('\u0000') ?? ''}` : `f\u0000${args.features?.join('\u0000') ?? ''}`;
  let cache = memo.get(registry);
  if (cache === undefined) memo.set(registry, (cache = new Map()));
  const hit = cache.get(id);
  if (hit !== undefined) return hit;
  const selection = resolveSelection(registry, args);
  if (cache.size >= MEMO_LIMIT) cache.clear();
  cache.set(id, selection);
  return selection;
}

function resolveSelection(registry: Registry, args: { features?: readonly string[] | null; service?: string | null }): Selection {
  const hasFeatures = args.features != null && args.features.length > 0;
  const hasService = args.service != null;
  if (hasFeatures === hasService) {
    throw new SkewlessError('INVALID_SELECTION', 'give either features (refs "view:feature") or service, not both and not neither', { httpStatus: 400 });
  }
  let refs: readonly string[];
  if (hasService) {
    const service = registry.service(args.service!);
    if (service === undefined) {
      const hint = closest(args.service!, registry.services.map((s) => s.name));
      throw new SkewlessError('UNKNOWN_SERVICE', `unknown feature service "${args.service}"${hint === undefined ? '' : ` (did you mean "${hint}"?)`}`, { httpStatus: 400 });
    }
    refs = service.features;
  } else {
    const unknown = unknownRefs(registry, args.features!);
    if (unknown.length > 0) throw unknownFeatureError(unknown);
    refs = registry.expandRefs(args.features!).refs;
  }
  const columns = refs.map((ref) => ({ ref, ...registry.feature(ref)! }));
  const views = [...new Set(columns.map((c) => c.view))];
  const entities = [...new Set(views.flatMap((v) => v.entities))].map((name) => registry.entity(name)!);
  const joinKeys = [...new Set(entities.flatMap((e) => e.joinKeys.map((k) => k.name)))];
  const columnViews = columns.map((c) => views.indexOf(c.view));
  const wanted = views.filter((v) => v.kind === 'onDemand');
  const onDemand = wanted.length === 0 ? undefined : onDemandPlan(registry, wanted);
  const storedViews = [...new Set([...views.filter((v) => v.kind !== 'onDemand'), ...(onDemand?.storedInputs ?? [])])];
  const viewStored = views.map((v) => storedViews.indexOf(v));
  const viewSteps = views.map((v) => (v.kind === 'onDemand' ? onDemand!.views.indexOf(v) : -1));
  const storedIndex = new Map(storedViews.map((v, i) => [v.name, i]));
  const transforms = (onDemand?.views ?? []).map((v) => ({ view: v.name, transform: v.transform.name, sha256: v.transform.sha256 }));
  return Object.freeze({ columns, views, entities, joinKeys, columnViews, onDemand, storedViews, viewStored, viewSteps, storedIndex, transforms });
}
