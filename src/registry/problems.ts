/**
 * Validation problems. Codes are stable: tooling and tests match on them, so never rename one; add new ones.
 */
import type { SourceLocation } from './types.ts';

export const PROBLEM_CODES = {
  NO_SCHEMA_FILES: 'The schema directory holds no .graphql files',
  SDL_SYNTAX: 'The file is not valid GraphQL SDL',
  UNSUPPORTED_DEFINITION: 'A definition that means nothing to Skewless (e.g. an object type without a directive)',
  CONFLICTING_DIRECTIVES: 'A type carries more than one of @entity, @source, @featureView, @onDemand, @featureService',
  UNKNOWN_DIRECTIVE: 'A directive Skewless does not define',
  UNKNOWN_ARGUMENT: 'A directive argument the directive does not take',
  MISSING_ARGUMENT: 'A required directive argument is absent',
  INVALID_ARGUMENT: 'A directive argument has the wrong kind of value',
  INVALID_NAME: 'A name that is not lower snake case, or that is reserved',
  DUPLICATE_NAME: 'Two definitions share a name (types, views, entities, sources, services, features)',
  UNKNOWN_ENTITY: 'A view names an entity that is not defined',
  UNKNOWN_SOURCE: 'A view names a source that is not defined',
  UNKNOWN_VIEW: 'An on-demand input or a service names a view that is not defined',
  UNKNOWN_FEATURE: 'A service names a feature its view does not have',
  UNKNOWN_REQUEST_TYPE: 'An on-demand view names a request input type that is not defined',
  INVALID_JOIN_KEY: 'An entity key is missing from its fields or has a type keys cannot have',
  INVALID_TIMESTAMP_FIELD: 'A source timestamp field is missing or not a DateTime',
  SOURCE_MISSING_JOIN_KEY: "An aggregation view's source lacks a join key of the view's entity",
  INVALID_TTL: 'A ttl is not a duration such as "3d" or "36h"',
  INVALID_WINDOW: 'A window is not a duration between 1s and 90d',
  INVALID_HOP: 'A hop is not a duration that divides its window',
  INVALID_SLICE: 'A slice is not a duration that divides its hop',
  INVALID_PERCENTILE: 'APPROX_PERCENTILE needs percentile in (0, 1), and only it takes one',
  AGGREGATE_WITHOUT_SOURCE: '@aggregate on a feature of a view that has no source',
  MISSING_AGGREGATE: 'A feature of a view with a source has no @aggregate',
  AGGREGATE_UNKNOWN_FIELD: "@aggregate(of:) names a field the view's source does not have",
  AGGREGATE_MISSING_FIELD: 'An aggregation other than COUNT needs of:',
  AGGREGATE_NON_NUMERIC: 'SUM, AVG, STDDEV, VARIANCE or APPROX_PERCENTILE over a field that is not Int or Float',
  AGGREGATE_RESULT_TYPE: "The feature's declared type cannot hold the aggregation's result",
  TRANSFORM_NOT_FOUND: 'An on-demand view names a transform with no transforms/<name>.ts',
  TRANSFORM_INVALID: "A transform's file does not compile for the sandbox (syntax, non-erasable TypeScript, a value import, no default export)",
  ON_DEMAND_CYCLE: 'On-demand views read each other in a cycle',
  UNSUPPORTED_FEATURE_TYPE: 'A field type that is not a supported scalar or a list of one',
  EMPTY_DEFINITION: 'A view, source, entity or service with nothing in it',
} as const;

export type ProblemCode = keyof typeof PROBLEM_CODES;

export interface Problem {
  readonly code: ProblemCode;
  readonly message: string;
  readonly loc: SourceLocation;
}

/** `file:line:column  CODE  message` — the format `skewless validate` prints, one problem per line. */
export function formatProblem(p: Problem): string {
  return `${p.loc.file}:${p.loc.line}:${p.loc.column}  ${p.code}  ${p.message}`;
}

/** Orders problems by file, then position, so reports are stable whatever order checks ran in. */
export function sortProblems(problems: readonly Problem[]): Problem[] {
  return [...problems].sort(
    (a, b) =>
      a.loc.file.localeCompare(b.loc.file) || a.loc.line - b.loc.line || a.loc.column - b.loc.column || a.code.localeCompare(b.code),
  );
}
