/** The two custom scalars of the served schema. */
import { GraphQLBoolean, GraphQLError, GraphQLFloat, GraphQLID, GraphQLInt, GraphQLList, GraphQLNonNull, GraphQLScalarType, GraphQLString, Kind } from 'graphql';
import type { ConstValueNode, GraphQLInputType, GraphQLOutputType } from 'graphql';
import type { FieldType, ScalarType } from '../registry/types.ts';
import { toEpochMs, toIso } from '../features/time.ts';

/**
 * An instant: ISO-8601 with a zone (`2026-11-21T05:31:09Z`) or epoch milliseconds on input, always
 * ISO-8601 UTC with milliseconds on output. Internally epoch ms.
 */
export const DateTimeScalar = new GraphQLScalarType<number, string>({
  name: 'DateTime',
  description: 'An instant in UTC. Input: ISO-8601 with a zone, or epoch milliseconds. Output: ISO-8601 with milliseconds.',
  coerceOutputValue(value) {
    const ms = toEpochMs(value);
    if (ms === undefined) throw new GraphQLError(`DateTime cannot represent ${JSON.stringify(value)}`);
    return toIso(ms);
  },
  coerceInputValue(value) {
    const ms = toEpochMs(value);
    if (ms === undefined) throw new GraphQLError(`DateTime expects ISO-8601 with a zone or epoch milliseconds, got ${JSON.stringify(value)}`);
    return ms;
  },
  coerceInputLiteral(ast) {
    const value = ast.kind === Kind.STRING ? ast.value : ast.kind === Kind.INT ? Number(ast.value) : undefined;
    const ms = toEpochMs(value);
    if (ms === undefined) throw new GraphQLError('DateTime expects an ISO-8601 string with a zone or epoch milliseconds');
    return ms;
  },
});

/** Any JSON value: entity rows, feature rows, frames of mixed-type values. */
export const JSONScalar = new GraphQLScalarType<unknown, unknown>({
  name: 'JSON',
  description: 'Any JSON value.',
  coerceOutputValue: (value) => value,
  coerceInputValue: (value) => value,
  coerceInputLiteral: (ast) => literalValue(ast),
});

function literalValue(ast: ConstValueNode): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.ENUM:
      return ast.value;
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map(literalValue);
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literalValue(f.value)]));
  }
}

const SCALARS: Record<ScalarType, GraphQLScalarType> = {
  Int: GraphQLInt,
  Float: GraphQLFloat,
  String: GraphQLString,
  Boolean: GraphQLBoolean,
  ID: GraphQLID,
  DateTime: DateTimeScalar,
  JSON: JSONScalar,
};

/** The served GraphQL type of a field: nullable unless `keepNonNull` (join keys are never null). */
export function outputType(type: FieldType, keepNonNull = false): GraphQLOutputType {
  const scalar = SCALARS[type.scalar];
  const inner = type.list ? new GraphQLList(scalar) : scalar;
  return keepNonNull && !type.nullable ? new GraphQLNonNull(inner) : inner;
}

/** The GraphQL input type of a join key or request field: non-null unless declared nullable. */
export function inputType(type: FieldType): GraphQLInputType {
  const scalar = SCALARS[type.scalar];
  const inner = type.list ? new GraphQLList(scalar) : scalar;
  return type.nullable ? inner : new GraphQLNonNull(inner);
}
