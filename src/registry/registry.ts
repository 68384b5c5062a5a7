/**
 * The immutable registry: every definition, looked up by name. Built once at start-up by `buildRegistry`
 * and never changed afterwards; all lookups are map reads, so the hot path can call them freely.
 */
import { parseFeatureRef } from '../features/names.ts';
import type { Entity, EventSource, Feature, FeatureService, FeatureView, RequestType } from './types.ts';

export interface RegistryContents {
  readonly entities: readonly Entity[];
  readonly sources: readonly EventSource[];
  readonly views: readonly FeatureView[];
  readonly requestTypes: readonly RequestType[];
  readonly services: readonly FeatureService[];
}

export class Registry {
  readonly entities: readonly Entity[];
  readonly sources: readonly EventSource[];
  readonly views: readonly FeatureView[];
  readonly requestTypes: readonly RequestType[];
  readonly services: readonly FeatureService[];

  readonly #entities: ReadonlyMap<string, Entity>;
  readonly #sources: ReadonlyMap<string, EventSource>;
  readonly #views: ReadonlyMap<string, FeatureView>;
  readonly #requestTypes: ReadonlyMap<string, RequestType>;
  readonly #services: ReadonlyMap<string, FeatureService>;
  readonly #features: ReadonlyMap<string, { view: FeatureView; feature: Feature }>;

  constructor(contents: RegistryContents) {
    this.entities = deepFreeze([...contents.entities]);
    this.sources = deepFreeze([...contents.sources]);
    this.views = deepFreeze([...contents.views]);
    this.requestTypes = deepFreeze([...contents.requestTypes]);
    this.services = deepFreeze([...contents.services]);
    this.#entities = byName(this.entities);
    this.#sources = byName(this.sources);
    this.#views = byName(this.views);
    this.#requestTypes = byName(this.requestTypes);
    this.#services = byName(this.services);
    this.#features = new Map(this.views.flatMap((view) => view.features.map((feature) => [feature.ref, { view, feature }] as const)));
    Object.freeze(this);
  }

  entity(name: string): Entity | undefined {
    return this.#entities.get(name);
  }

  source(name: string): EventSource | undefined {
    return this.#sources.get(name);
  }

  view(name: string): FeatureView | undefined {
    return this.#views.get(name);
  }

  requestType(name: string): RequestType | undefined {
    return this.#requestTypes.get(name);
  }

  service(name: string): FeatureService | undefined {
    return this.#services.get(name);
  }

  /** The view and feature a `view:feature` ref names, or undefined. */
  feature(ref: string): { view: FeatureView; feature: Feature } | undefined {
    return this.#features.get(ref);
  }

  /** Every feature ref, in view then declaration order. */
  featureRefs(): string[] {
    return [...this.#features.keys()];
  }

  /** Stored views (row and aggregation) keyed by the given entity. */
  viewsOf(entity: string): FeatureView[] {
    return this.views.filter((v) => v.kind !== 'onDemand' && v.entities.includes(entity));
  }

  /** Expands refs (`view:feature` or a bare `view`) to feature refs; undefined entries for unknown ones. */
  expandRefs(refs: readonly string[]): { refs: string[]; unknown: string[] } {
    const out: string[] = [];
    const unknown: string[] = [];
    for (const ref of refs) {
      const parsed = parseFeatureRef(ref);
      const view = parsed && this.view(parsed.view);
      if (parsed === undefined || view === undefined) unknown.push(ref);
      else if (parsed.feature === undefined) out.push(...view.features.map((f) => f.ref));
      else if (this.#features.has(ref)) out.push(ref);
      else unknown.push(ref);
    }
    return { refs: [...new Set(out)], unknown };
  }
}

function byName<T extends { readonly name: string }>(items: readonly T[]): ReadonlyMap<string, T> {
  return new Map(items.map((item) => [item.name, item]));
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
