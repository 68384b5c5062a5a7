/**
 * On-demand views: request-time features computed by a transform from input views and request fields.
 * Inputs may be other on-demand views (chaining), so names are resolved after all views are known and
 * cycles are rejected here, before anything could evaluate them.
 */
import { TYPE_DIRECTIVES, readDirectiveArgs } from './directives.ts';
import type { Declared } from './build.ts';
import { at, checkFeatureName, definitionName, deprecationReason, viewBase } from './common.ts';
import { fieldType } from './fields.ts';
import type { Problem } from './problems.ts';
import { suggest } from './suggest.ts';
import type { Entity, Feature, FeatureView, OnDemandView, RequestType, Transform } from './types.ts';
import { featureRef } from '../features/names.ts';
import { compileTransform } from '../transforms/compile.ts';

type Draft = Omit<OnDemandView, 'entities' | 'transform'> & { transform: Transform | undefined };

export function buildOnDemandViews(
  declared: readonly Declared[],
  stored: readonly FeatureView[],
  entities: readonly Entity[],
  requestTypes: readonly RequestType[],
  transforms: readonly Transform[],
  problems: Problem[],
): OnDemandView[] {
  const drafts: Draft[] = [];
  const problem = (code: Problem['code'], message: string, loc: Feature['loc']): void => void problems.push({ code, message, loc });

  for (const { decl, use } of declared) {
    const args = readDirectiveArgs(use, TYPE_DIRECTIVES.onDemand, problems);
    if (args === undefined) continue;
    const name = definitionName(decl, args.name, args.$loc('name'), problems);
    const transform = transforms.find((t) => t.name === args.transform);
    if (transform === undefined) {
      const known = transforms.map((t) => t.name);
      problem('TRANSFORM_NOT_FOUND', `transform "${args.transform}" has no file ${args.transform}.ts in the transforms directory${suggest(args.transform, known)}`, args.$loc('transform'));
    } else {
      const compiled = compileTransform(transform.source);
      if (!compiled.ok) problem('TRANSFORM_INVALID', `transform "${transform.name}" (${transform.path}) does not compile: ${compiled.message}`, args.$loc('transform'));
    }
    if (args.request !== undefined && !requestTypes.some((r) => r.name === args.request)) {
      problem('UNKNOWN_REQUEST_TYPE', `input type "${args.request}" is not defined${suggest(args.request, requestTypes.map((r) => r.name))}`, args.$loc('request'));
    }
    if (args.inputs.length === 0 && args.request === undefined) {
      problem('EMPTY_DEFINITION', `on-demand view ${name} reads nothing: give inputs or a request type`, use.loc);
    }
    if (decl.fields.length === 0) problem('EMPTY_DEFINITION', `view ${name} has no features`, decl.loc);
    const features: Feature[] = [];
    for (const field of decl.fields) {
      checkFeatureName(field.name, field.loc, entities, problems);
      for (const d of field.directives) {
        if (d.name === 'aggregate') problem('AGGREGATE_WITHOUT_SOURCE', '@aggregate belongs on aggregation views; an on-demand feature is computed by its transform', d.loc);
        else if (d.name !== 'deprecated') problem('UNKNOWN_DIRECTIVE', `@${d.name} is not a Skewless field directive (@deprecated)`, d.loc);
      }
      const type = fieldType(field, problems);
      if (type !== undefined) {
        features.push({ name: field.name, ref: featureRef(name, field.name), type, description: field.description, deprecationReason: deprecationReason(field, problems), aggregation: undefined, loc: field.loc });
      }
    }
    drafts.push({ ...viewBase(decl, name, args, features), kind: 'onDemand', transform, inputs: args.inputs, request: args.request });
  }

  // Resolve inputs by view name or type name, against stored and on-demand views alike.
  const all = [...stored, ...drafts];
  const resolve = (ref: string) => all.find((v) => v.name === ref || v.typeName === ref);
  for (const draft of drafts) {
    const resolved: string[] = [];
    for (const ref of draft.inputs) {
      const view = resolve(ref);
      if (view === undefined) problem('UNKNOWN_VIEW', `input view "${ref}" is not defined${suggest(ref, all.map((v) => v.name))}`, draft.loc);
      else resolved.push(view.name);
    }
    (draft as { inputs: readonly string[] }).inputs = resolved;
  }

  reportCycles(drafts, problems);

  // An on-demand view is keyed by every entity its inputs are keyed by, in first-seen order.
  const byName = new Map<string, { entities?: readonly string[]; inputs?: readonly string[] }>(all.map((v) => [v.name, v]));
  const entitiesOf = (name: string, seen: Set<string>): string[] => {
    const view = byName.get(name);
    if (view === undefined || seen.has(name)) return [];
    seen.add(name);
    if (view.entities !== undefined) return [...view.entities];
    return [...new Set((view.inputs ?? []).flatMap((input) => entitiesOf(input, seen)))];
  };
  return drafts.flatMap((draft) =>
    draft.transform === undefined ? [] : [{ ...draft, transform: draft.transform, entities: entitiesOf(draft.name, new Set()) }],
  );
}

/** Reports each cycle among on-demand views once, at the first view in it, with the whole path. */
function reportCycles(drafts: readonly Draft[], problems: Problem[]): void {
  const byName = new Map(drafts.map((d) => [d.name, d]));
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]): void => {
    const view = byName.get(name);
    if (view === undefined || state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const cycle = [...path.slice(path.indexOf(name)), name];
      const head = byName.get(cycle[0]!)!;
      problems.push({ code: 'ON_DEMAND_CYCLE', message: `on-demand views read each other in a cycle: ${cycle.join(' → ')} (see ${at(view.loc)})`, loc: head.loc });
      return;
    }
    state.set(name, 'visiting');
    for (const input of view.inputs) visit(input, [...path, name]);
    state.set(name, 'done');
  };
  for (const draft of drafts) visit(draft.name, []);
}
