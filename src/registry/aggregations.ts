/** Reads and checks one `@aggregate` use against its view's source. */
import { formatDuration, parseDuration } from '../features/duration.ts';
import { headSliceMs } from '../features/aggregate/tiles.ts';
import { MAX_WINDOW_MS, MIN_WINDOW_MS, defaultHopMs } from '../features/windows.ts';
import { FIELD_DIRECTIVES, readDirectiveArgs } from './directives.ts';
import type { Problem } from './problems.ts';
import type { DirectiveUse } from './sdl.ts';
import type { AggregateFunction, Aggregation, EventSource, FieldType, ScalarType } from './types.ts';
import { NUMERIC_TYPES } from './types.ts';

/** Functions whose input must be numeric (MIN and MAX also take DateTime). */
const NUMERIC_ONLY: readonly AggregateFunction[] = ['SUM', 'AVG', 'STDDEV', 'VARIANCE', 'APPROX_PERCENTILE'];
const ORDERED: readonly AggregateFunction[] = ['MIN', 'MAX'];

/**
 * The scalar an aggregation produces from an input of type `input` (undefined for COUNT without `of`).
 * A feature declared Float may hold an Int result; nothing else widens.
 */
function resultScalar(fn: AggregateFunction, input: ScalarType | undefined): ScalarType | undefined {
  switch (fn) {
    case 'COUNT':
    case 'COUNT_DISTINCT':
    case 'APPROX_COUNT_DISTINCT':
      return 'Int';
    case 'AVG':
    case 'STDDEV':
    case 'VARIANCE':
    case 'APPROX_PERCENTILE':
      return 'Float';
    case 'SUM':
    case 'MIN':
    case 'MAX':
    case 'FIRST':
    case 'LAST':
      return input;
  }
}

/** Whether `part` (a parsed duration) is whole seconds, at least one, and divides `whole`: a hop its window, a slice its hop. */
function wholeSecondsDividing(part: number | undefined, whole: number): boolean {
  return part !== undefined && part >= 1000 && part % 1000 === 0 && part <= whole && whole % part === 0;
}

function canHold(declared: ScalarType, produced: ScalarType): boolean {
  const same = (t: ScalarType): ScalarType => (t === 'ID' ? 'String' : t);
  return same(declared) === same(produced) || (declared === 'Float' && produced === 'Int');
}

export function buildAggregation(
  use: DirectiveUse,
  feature: string,
  declared: FieldType,
  source: EventSource,
  problems: Problem[],
): Aggregation | undefined {
  const args = readDirectiveArgs(use, FIELD_DIRECTIVES.aggregate, problems);
  if (args === undefined) return undefined;
  const fn = args.fn as AggregateFunction;
  const problem = (code: Problem['code'], message: string, arg: Parameters<typeof args.$loc>[0]): void => {
    problems.push({ code, message, loc: args.$loc(arg) });
  };
  let ok = true;

  const windowMs = parseDuration(args.window);
  if (windowMs === undefined || windowMs < MIN_WINDOW_MS || windowMs > MAX_WINDOW_MS) {
    problem('INVALID_WINDOW', `window "${args.window}" must be a duration from 1s to 90d, such as "24h" or "7d"`, 'window');
    ok = false;
  }
  const hopMs = args.hop === undefined ? (windowMs === undefined ? undefined : defaultHopMs(windowMs)) : parseDuration(args.hop);
  if (args.hop !== undefined && windowMs !== undefined && !wholeSecondsDividing(hopMs, windowMs)) {
    problem('INVALID_HOP', `hop "${args.hop}" must be whole seconds and divide the window "${args.window}"`, 'hop');
    ok = false;
  }
  const sliceMs = args.slice === undefined ? (hopMs === undefined ? undefined : headSliceMs(hopMs)) : parseDuration(args.slice);
  if (args.slice !== undefined && hopMs !== undefined && !wholeSecondsDividing(sliceMs, hopMs)) {
    problem('INVALID_SLICE', `slice "${args.slice}" must be whole seconds and divide the hop "${args.hop ?? formatDuration(hopMs)}"`, 'slice');
    ok = false;
  }

  const input = args.of === undefined ? undefined : source.fields.find((f) => f.name === args.of);
  if (args.of === undefined && fn !== 'COUNT') {
    problem('AGGREGATE_MISSING_FIELD', `${fn} needs of: naming a field of ${source.name}`, 'fn');
    ok = false;
  } else if (args.of !== undefined && input === undefined) {
    problem('AGGREGATE_UNKNOWN_FIELD', `source ${source.name} has no field "${args.of}"`, 'of');
    ok = false;
  } else if (input !== undefined) {
    const t = input.type;
    const numeric = !t.list && NUMERIC_TYPES.includes(t.scalar);
    if (NUMERIC_ONLY.includes(fn) && !numeric) {
      problem('AGGREGATE_NON_NUMERIC', `${fn} needs an Int or Float field; ${source.name}.${input.name} is ${t.scalar}${t.list ? ' list' : ''}`, 'of');
      ok = false;
    } else if (ORDERED.includes(fn) && !(numeric || (!t.list && t.scalar === 'DateTime'))) {
      problem('AGGREGATE_NON_NUMERIC', `${fn} needs an Int, Float or DateTime field; ${source.name}.${input.name} is ${t.scalar}`, 'of');
      ok = false;
    }
  }

  if (fn === 'APPROX_PERCENTILE') {
    if (args.percentile === undefined || !(args.percentile > 0 && args.percentile < 1)) {
      problem('INVALID_PERCENTILE', 'APPROX_PERCENTILE needs percentile: between 0 and 1 (exclusive), e.g. 0.95', args.percentile === undefined ? 'fn' : 'percentile');
      ok = false;
    }
  } else if (args.percentile !== undefined) {
    problem('INVALID_PERCENTILE', `percentile: applies only to APPROX_PERCENTILE, not ${fn}`, 'percentile');
    ok = false;
  }

  const produced = resultScalar(fn, input?.type.scalar);
  if (ok && produced !== undefined && (declared.list || !canHold(declared.scalar, produced))) {
    problems.push({
      code: 'AGGREGATE_RESULT_TYPE',
      message: `"${feature}" is declared ${declared.list ? `[${declared.scalar}]` : declared.scalar} but ${fn} produces ${produced}`,
      loc: use.loc,
    });
    ok = false;
  }
  if (!ok || windowMs === undefined || hopMs === undefined || sliceMs === undefined) return undefined;
  return {
    fn,
    of: args.of,
    window: args.window,
    windowMs,
    hop: args.hop ?? formatDuration(hopMs),
    hopMs,
    slice: args.slice ?? formatDuration(sliceMs),
    sliceMs,
    percentile: args.percentile,
  };
}
