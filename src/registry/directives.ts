/**
 * The directives Skewless understands and the arguments each takes. docs/schema.md documents each one;
 * keep the two in step (test/unit/registry/docs.test.ts checks that every directive and argument is there).
 *
 * Arguments are read into plain values here, once, with one problem per mistake, so the builder works on
 * typed values and never on AST nodes.
 */
import { Kind } from 'graphql';
import type { ConstValueNode } from 'graphql';
import type { Problem } from './problems.ts';
import type { DirectiveUse } from './sdl.ts';
import type { SourceLocation } from './types.ts';
import { AGGREGATE_FUNCTIONS } from './types.ts';

type ArgKind = 'string' | 'stringList' | 'number' | 'enum';

interface ArgSpec {
  readonly kind: ArgKind;
  readonly required?: boolean;
  readonly values?: readonly string[];
}

export const TYPE_DIRECTIVES = {
  entity: {
    key: { kind: 'stringList', required: true },
  },
  source: {
    topic: { kind: 'string', required: true },
    timestamp: { kind: 'string' },
  },
  featureView: {
    entity: { kind: 'string', required: true },
    source: { kind: 'string' },
    ttl: { kind: 'string' },
    topic: { kind: 'string' },
    freshness: { kind: 'string' },
    owner: { kind: 'string' },
    tags: { kind: 'stringList' },
    name: { kind: 'string' },
  },
  onDemand: {
    transform: { kind: 'string', required: true },
    inputs: { kind: 'stringList', required: true },
    request: { kind: 'string' },
    owner: { kind: 'string' },
    tags: { kind: 'stringList' },
    name: { kind: 'string' },
  },
  featureService: {
    features: { kind: 'stringList', required: true },
    owner: { kind: 'string' },
    tags: { kind: 'stringList' },
    name: { kind: 'string' },
  },
} as const satisfies Record<string, Record<string, ArgSpec>>;

export const FIELD_DIRECTIVES = {
  aggregate: {
    fn: { kind: 'enum', required: true, values: AGGREGATE_FUNCTIONS },
    of: { kind: 'string' },
    window: { kind: 'string', required: true },
    hop: { kind: 'string' },
    slice: { kind: 'string' },
    percentile: { kind: 'number' },
  },
  // GraphQL's own: passed through to the served schema.
  deprecated: {
    reason: { kind: 'string' },
  },
} as const satisfies Record<string, Record<string, ArgSpec>>;

export type TypeDirectiveName = keyof typeof TYPE_DIRECTIVES;
export type FieldDirectiveName = keyof typeof FIELD_DIRECTIVES;

type ValueOf<S extends ArgSpec> = S['kind'] extends 'stringList' ? string[] : S['kind'] extends 'number' ? number : string;

/** Arguments read from one directive use; required ones are present (or the whole use was rejected). */
export type DirectiveArgs<Specs extends Record<string, ArgSpec>> = {
  [K in keyof Specs]: Specs[K] extends { required: true } ? ValueOf<Specs[K]> : ValueOf<Specs[K]> | undefined;
} & { readonly $loc: (arg: keyof Specs) => SourceLocation };

/**
 * Reads a directive's arguments against its spec. Every unknown, missing or mistyped argument is a
 * problem; returns undefined when a required argument could not be read (the caller then skips the
 * definition rather than report follow-on problems about it).
 */
export function readDirectiveArgs<Specs extends Record<string, ArgSpec>>(
  use: DirectiveUse,
  specs: Specs,
  problems: Problem[],
): DirectiveArgs<Specs> | undefined {
  const out: Record<string, unknown> = {};
  let complete = true;
  for (const [name, { loc }] of use.args) {
    if (!(name in specs)) {
      const known = Object.keys(specs).join(', ');
      problems.push({ code: 'UNKNOWN_ARGUMENT', message: `@${use.name} takes no argument "${name}" (it takes ${known})`, loc });
    }
  }
  for (const [name, spec] of Object.entries(specs)) {
    const arg = use.args.get(name);
    if (arg === undefined) {
      if (spec.required === true) {
        problems.push({ code: 'MISSING_ARGUMENT', message: `@${use.name} needs the argument "${name}"`, loc: use.loc });
        complete = false;
      }
      continue;
    }
    const value = readValue(arg.value, spec);
    if (value === undefined) {
      problems.push({
        code: 'INVALID_ARGUMENT',
        message: `@${use.name}(${name}:) must be ${describe(spec)}`,
        loc: arg.loc,
      });
      if (spec.required === true) complete = false;
      continue;
    }
    out[name] = value;
  }
  if (!complete) return undefined;
  out.$loc = (arg: string) => use.args.get(arg)?.loc ?? use.loc;
  return out as DirectiveArgs<Specs>;
}

function readValue(node: ConstValueNode, spec: ArgSpec): string | string[] | number | undefined {
  switch (spec.kind) {
    case 'string':
      return node.kind === Kind.STRING ? node.value : undefined;
    case 'number':
      return node.kind === Kind.FLOAT || node.kind === Kind.INT ? Number(node.value) : undefined;
    case 'enum':
      return node.kind === Kind.ENUM && spec.values?.includes(node.value) === true ? node.value : undefined;
    case 'stringList': {
      // GraphQL input coercion: a single value stands for a list of one.
      if (node.kind === Kind.STRING) return [node.value];
      if (node.kind !== Kind.LIST) return undefined;
      const items = node.values.map((v) => (v.kind === Kind.STRING ? v.value : undefined));
      return items.every((v) => v !== undefined) ? (items as string[]) : undefined;
    }
  }
}

function describe(spec: ArgSpec): string {
  switch (spec.kind) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'stringList':
      return 'a list of strings';
    case 'enum':
      return `one of ${spec.values?.join(', ')}`;
  }
}

/** SDL declaring the directives, for editors and for docs (`skewless directives` prints it). */
export const DIRECTIVES_SDL = `"""Something features are about. key: the fields that identify one (join keys)."""
directive @entity(key: [String!]!) on OBJECT

"""Raw events on a Kafka topic; timestamp names the DateTime field with each event's time."""
directive @source(topic: String!, timestamp: String = "event_time") on OBJECT

"""A stored feature view: rows pushed or streamed (no source) or aggregations over a source. freshness: how old its newest value may get before it is reported stale."""
directive @featureView(entity: String!, source: String, ttl: String, topic: String, freshness: String, owner: String, tags: [String!], name: String) on OBJECT

"""How an aggregation view's feature is computed from its source's events."""
directive @aggregate(fn: AggregateFunction!, of: String, window: String!, hop: String, slice: String, percentile: Float) on FIELD_DEFINITION

"""Request-time features computed by transforms/<transform>.ts from input views and request fields."""
directive @onDemand(transform: String!, inputs: [String!]!, request: String, owner: String, tags: [String!], name: String) on OBJECT

"""A named set of features a model reads: refs "view:feature", or "view" for all of a view's features."""
directive @featureService(features: [String!]!, owner: String, tags: [String!], name: String) on OBJECT

enum AggregateFunction { ${AGGREGATE_FUNCTIONS.join(' ')} }
`;
