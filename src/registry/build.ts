/**
 * Builds the registry from schema declarations, collecting every problem instead of stopping at the first
 * (a schema author fixes them all in one round). Pure: declarations and the list of transforms in, a
 * Registry or problems out.
 */
import { buildAggregation } from './aggregations.ts';
import { FIELD_DIRECTIVES, TYPE_DIRECTIVES, readDirectiveArgs } from './directives.ts';
import type { TypeDirectiveName } from './directives.ts';
import { fieldType, readFields } from './fields.ts';
import { buildServices } from './services.ts';
import type { Problem } from './problems.ts';
import { sortProblems } from './problems.ts';
import { Registry } from './registry.ts';
import type { DirectiveUse, TypeDecl } from './sdl.ts';
import type { Entity, EventSource, Feature, FeatureView, RequestType, SourceLocation, Transform } from './types.ts';
import { JOIN_KEY_TYPES } from './types.ts';
import { buildOnDemandViews } from './on-demand.ts';
import { suggest } from './suggest.ts';
import { parseDuration } from '../features/duration.ts';
import { featureRef } from '../features/names.ts';
import { at, checkFeatureName, checkUnique, definitionName, deprecationReason, viewBase } from './common.ts';

export type BuildResult = { ok: true; registry: Registry } | { ok: false; problems: Problem[] };

/** Type names the served GraphQL schema defines itself; schema types may not take them. */
export const RESERVED_TYPE_NAMES = new Set([
  'Query', 'Mutation', 'Subscription', 'JSON', 'DateTime', 'FeatureFrame', 'FeatureStatus', 'ViewMeta',
  'RegistryInfo', 'RegistryEntity', 'RegistrySource', 'RegistryView', 'RegistryFeature', 'RegistryField',
  'RegistryAggregation', 'RegistryTransform', 'RegistryRequestType', 'RegistryFeatureService', 'ViewKind',
  'AggregateFunction', 'FreshnessReport', 'ViewFreshness',
]);

// Definitions we accept without meaning anything: editor support (directive declarations, the scalars and
// the enum our directives use) may be pasted into schema files.
const IGNORED_DEFINITIONS = new Set(['DirectiveDefinition', 'SchemaDefinition']);
const IGNORED_NAMES = new Set(['DateTime', 'JSON', 'AggregateFunction']);

export function buildRegistry(decls: readonly TypeDecl[], transforms: readonly Transform[], upstream: readonly Problem[] = []): BuildResult {
  const problems: Problem[] = [...upstream];
  const b = new Builder(problems);
  b.classify(decls);
  const entities = b.entities();
  const sources = b.sources();
  const requestTypes = b.requestTypes();
  const stored = b.storedViews(entities, sources);
  const onDemand = buildOnDemandViews(b.onDemandDecls, stored, entities, requestTypes, transforms, problems);
  const views = [...stored, ...onDemand];
  checkUnique(views, 'feature view', problems);
  const services = buildServices(b.serviceDecls, views, problems);
  checkUnique(services, 'feature service', problems);
  if (problems.length > 0) return { ok: false, problems: sortProblems(problems) };
  return { ok: true, registry: new Registry({ entities, sources, views, requestTypes, services }) };
}

/** A type declaration with the one Skewless directive it carries. */
export interface Declared {
  readonly decl: TypeDecl;
  readonly use: DirectiveUse;
}

class Builder {
  readonly problems: Problem[];
  readonly byDirective = new Map<TypeDirectiveName, Declared[]>();
  readonly inputs: TypeDecl[] = [];

  constructor(problems: Problem[]) {
    this.problems = problems;
  }

  get onDemandDecls(): Declared[] {
    return this.byDirective.get('onDemand') ?? [];
  }

  get serviceDecls(): Declared[] {
    return this.byDirective.get('featureService') ?? [];
  }

  /** Sorts declarations by the directive they carry; reports duplicates and declarations we cannot use. */
  classify(decls: readonly TypeDecl[]): void {
    const seen = new Map<string, SourceLocation>();
    for (const decl of decls) {
      if (decl.kind === 'other' && (IGNORED_DEFINITIONS.has(decl.astKind) || IGNORED_NAMES.has(decl.name))) continue;
      const first = decl.name === '' ? undefined : seen.get(decl.name);
      if (first !== undefined) {
        this.problem('DUPLICATE_NAME', `type ${decl.name} is already defined at ${at(first)}`, decl.nameLoc);
        continue;
      }
      if (decl.name !== '') seen.set(decl.name, decl.nameLoc);
      if (RESERVED_TYPE_NAMES.has(decl.name)) {
        this.problem('INVALID_NAME', `type name ${decl.name} is reserved by the served GraphQL schema`, decl.nameLoc);
        continue;
      }
      if (decl.kind === 'other') {
        this.problem('UNSUPPORTED_DEFINITION', `${decl.astKind} ${decl.name} has no meaning in a feature schema`, decl.loc);
        continue;
      }
      if (decl.kind === 'input') {
        this.inputs.push(decl);
        continue;
      }
      const ours = decl.directives.filter((d) => {
        if (d.name in TYPE_DIRECTIVES) return true;
        this.problem('UNKNOWN_DIRECTIVE', `@${d.name} is not a Skewless type directive (${typeDirectiveList()})`, d.loc);
        return false;
      });
      if (ours.length === 0) {
        this.problem('UNSUPPORTED_DEFINITION', `type ${decl.name} needs one of ${typeDirectiveList()}`, decl.loc);
        continue;
      }
      if (ours.length > 1) {
        this.problem('CONFLICTING_DIRECTIVES', `type ${decl.name} carries ${ours.map((d) => `@${d.name}`).join(' and ')}; use one`, ours[1]!.loc);
        continue;
      }
      const use = ours[0]!;
      const list = this.byDirective.get(use.name as TypeDirectiveName) ?? [];
      list.push({ decl, use });
      this.byDirective.set(use.name as TypeDirectiveName, list);
    }
  }

  entities(): Entity[] {
    const out: Entity[] = [];
    for (const { decl, use } of this.byDirective.get('entity') ?? []) {
      const args = readDirectiveArgs(use, TYPE_DIRECTIVES.entity, this.problems);
      this.noFieldDirectives(decl);
      if (args === undefined) continue;
      if (args.key.length === 0) {
        this.problem('INVALID_JOIN_KEY', `entity ${decl.name} needs at least one key`, args.$loc('key'));
        continue;
      }
      const fields = readFields(decl.fields, this.problems);
      const joinKeys = [];
      for (const key of args.key) {
        const field = fields.find((f) => f.name === key);
        if (field === undefined) {
          this.problem('INVALID_JOIN_KEY', `key "${key}" is not a field of ${decl.name}`, args.$loc('key'));
        } else if (field.type.list || !JOIN_KEY_TYPES.includes(field.type.scalar)) {
          this.problem('INVALID_JOIN_KEY', `key "${key}" must be one of ${JOIN_KEY_TYPES.join(', ')}, not ${decl.fields.find((f) => f.name === key)?.type.text}`, field.loc);
        } else {
          joinKeys.push({ ...field, type: { ...field.type, nullable: false } });
        }
      }
      for (const field of decl.fields) {
        if (!args.key.includes(field.name)) {
          this.problem('UNSUPPORTED_DEFINITION', `entity ${decl.name}'s fields are its keys; "${field.name}" belongs in a feature view`, field.loc);
        }
      }
      if (joinKeys.length === args.key.length) {
        out.push({ name: decl.name, typeName: decl.name, description: decl.description, joinKeys, loc: decl.loc });
      }
    }
    return out;
  }

  sources(): EventSource[] {
    const out: EventSource[] = [];
    for (const { decl, use } of this.byDirective.get('source') ?? []) {
      const args = readDirectiveArgs(use, TYPE_DIRECTIVES.source, this.problems);
      this.noFieldDirectives(decl);
      if (args === undefined) continue;
      const fields = readFields(decl.fields, this.problems);
      if (decl.fields.length === 0) this.problem('EMPTY_DEFINITION', `source ${decl.name} has no fields`, decl.loc);
      const timestampField = args.timestamp ?? 'event_time';
      const ts = fields.find((f) => f.name === timestampField);
      if (ts === undefined || ts.type.scalar !== 'DateTime' || ts.type.list) {
        this.problem(
          'INVALID_TIMESTAMP_FIELD',
          ts === undefined ? `source ${decl.name} has no field "${timestampField}" for its event time` : `"${timestampField}" must be a DateTime`,
          ts?.loc ?? args.$loc('timestamp'),
        );
      }
      if (args.topic.trim() === '') this.problem('INVALID_ARGUMENT', '@source(topic:) must not be empty', args.$loc('topic'));
      out.push({ name: decl.name, typeName: decl.name, description: decl.description, topic: args.topic, timestampField, fields, loc: decl.loc });
    }
    return out;
  }

  requestTypes(): RequestType[] {
    return this.inputs.map((decl) => {
      this.noFieldDirectives(decl);
      if (decl.fields.length === 0) this.problem('EMPTY_DEFINITION', `input ${decl.name} has no fields`, decl.loc);
      return { name: decl.name, description: decl.description, fields: readFields(decl.fields, this.problems), loc: decl.loc };
    });
  }

  /** Row and aggregation views: everything declared with @featureView. */
  storedViews(entities: readonly Entity[], sources: readonly EventSource[]): FeatureView[] {
    const out: FeatureView[] = [];
    for (const { decl, use } of this.byDirective.get('featureView') ?? []) {
      const args = readDirectiveArgs(use, TYPE_DIRECTIVES.featureView, this.problems);
      if (args === undefined) continue;
      const name = definitionName(decl, args.name, args.$loc('name'), this.problems);
      const entity = entities.find((e) => e.name === args.entity);
      if (entity === undefined && !this.byDirective.get('entity')?.some((d) => d.decl.name === args.entity)) {
        this.problem('UNKNOWN_ENTITY', `entity "${args.entity}" is not defined${suggest(args.entity, entities.map((e) => e.name))}`, args.$loc('entity'));
      }
      const source = args.source === undefined ? undefined : sources.find((s) => s.name === args.source);
      if (args.source !== undefined && source === undefined) {
        this.problem('UNKNOWN_SOURCE', `source "${args.source}" is not defined${suggest(args.source, sources.map((s) => s.name))}`, args.$loc('source'));
      }
      const ttlMs = args.ttl === undefined ? undefined : this.ttl(args.ttl, args.$loc('ttl'));
      const freshnessMs = args.freshness === undefined ? undefined : this.freshness(args.freshness, args.$loc('freshness'));
      if (entity !== undefined && source !== undefined) {
        for (const key of entity.joinKeys) {
          if (!source.fields.some((f) => f.name === key.name)) {
            this.problem('SOURCE_MISSING_JOIN_KEY', `source ${source.name} has no field "${key.name}", the key of entity ${entity.name}`, args.$loc('source'));
          }
        }
      }
      const features = this.features(decl, name, entity, args.source !== undefined, source);
      const common = {
        ...viewBase(decl, name, args, features),
        entities: [args.entity],
        entity: args.entity,
        ttl: args.ttl === undefined || ttlMs === 0 ? undefined : args.ttl,
        ttlMs: ttlMs === 0 ? undefined : ttlMs,
        freshness: freshnessMs === undefined ? undefined : args.freshness,
        freshnessMs,
      };
      if (args.source === undefined) out.push({ ...common, kind: 'row', topic: args.topic });
      else {
        if (args.topic !== undefined) this.problem('UNKNOWN_ARGUMENT', 'topic: is for row views; an aggregation view reads its source\'s topic', args.$loc('topic'));
        out.push({ ...common, kind: 'aggregation', source: args.source });
      }
    }
    return out;
  }

  ttl(text: string, loc: SourceLocation): number | undefined {
    if (text === '0') return 0;
    const ms = parseDuration(text);
    if (ms === undefined) this.problem('INVALID_TTL', `ttl "${text}" is not a duration such as "3d", "36h" or "1h30m" ("0" for none)`, loc);
    return ms;
  }

  /** Expected freshness: a positive duration (a view cannot be expected to be fresher than now). */
  freshness(text: string, loc: SourceLocation): number | undefined {
    const ms = parseDuration(text);
    if (ms === undefined || ms === 0) {
      this.problem('INVALID_ARGUMENT', `@featureView(freshness:) "${text}" is not a positive duration such as "15m", "2h" or "1d"`, loc);
      return undefined;
    }
    return ms;
  }

  features(decl: TypeDecl, view: string, entity: Entity | undefined, hasSource: boolean, source: EventSource | undefined): Feature[] {
    const out: Feature[] = [];
    if (decl.fields.length === 0) this.problem('EMPTY_DEFINITION', `view ${view} has no features`, decl.loc);
    for (const field of decl.fields) {
      checkFeatureName(field.name, field.loc, entity === undefined ? [] : [entity], this.problems);
      const type = fieldType(field, this.problems);
      const agg = this.fieldDirectives(field.directives).find((d) => d.name === 'aggregate');
      if (hasSource && agg === undefined) {
        this.problem('MISSING_AGGREGATE', `feature "${field.name}" of a view with a source needs @aggregate`, field.loc);
      }
      if (!hasSource && agg !== undefined) {
        this.problem('AGGREGATE_WITHOUT_SOURCE', `@aggregate needs the view to name a source: @featureView(source: ...)`, agg.loc);
      }
      const aggregation = agg !== undefined && source !== undefined && type !== undefined ? buildAggregation(agg, field.name, type, source, this.problems) : undefined;
      if (type !== undefined) {
        out.push({ name: field.name, ref: featureRef(view, field.name), type, description: field.description, deprecationReason: deprecationReason(field, this.problems), aggregation, loc: field.loc });
      }
    }
    return out;
  }

  /** Field directives other than the ones we define are problems; returns the known ones. */
  fieldDirectives(uses: readonly DirectiveUse[]): DirectiveUse[] {
    return uses.filter((d) => {
      if (d.name in FIELD_DIRECTIVES) return true;
      this.problem('UNKNOWN_DIRECTIVE', `@${d.name} is not a Skewless field directive (@aggregate, @deprecated)`, d.loc);
      return false;
    });
  }

  noFieldDirectives(decl: TypeDecl): void {
    for (const field of decl.fields) {
      for (const d of field.directives) {
        this.problem('UNKNOWN_DIRECTIVE', `@${d.name} has no meaning on a field of ${decl.name}`, d.loc);
      }
    }
  }

  problem(code: Problem['code'], message: string, loc: SourceLocation): void {
    this.problems.push({ code, message, loc });
  }
}

function typeDirectiveList(): string {
  return Object.keys(TYPE_DIRECTIVES)
    .map((d) => `@${d}`)
    .join(', ');
}
