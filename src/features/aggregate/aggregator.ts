/**
 * The contract every aggregate function's partial meets. A partial summarises some set of events (one
 * tile, a slice of the head tile, a whole window); the materializer folds events into partials, the stores
 * keep their encodings, and both serving paths merge and finalise them with the same code.
 *
 * The one property everything rests on: the partial of a set of events depends only on the set. `add` and
 * `mergeInto` in any order and grouping give partials with the same encoding and the same result, bit for
 * bit, so online at T equals historical at T whatever order the events arrived in.
 */
import { SkewlessError } from '../../errors.ts';
import type { AggregateFunction } from '../../registry/types.ts';

/** What an encoding is: plain JSON, storable in Postgres jsonb and as a Redis string (JSON.stringify). */
export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

export interface Aggregator<S = unknown> {
  readonly fn: AggregateFunction;
  /** The partial of no events. */
  empty(): S;
  /**
   * Folds one event into `into` (mutated for speed on the materializer's hot path) and returns it. `value`
   * is the event's input (see `inputValue`); null and undefined are skipped.
   */
  add(into: S, value: unknown, time: number): S;
  /** Folds `from` into `into` (mutated and returned); `from` is left unchanged. */
  mergeInto(into: S, from: S): S;
  /** The aggregate of the events summarised, before the feature's declared type is applied. */
  result(state: S): unknown;
  /** Compact JSON. Equal sets of events give equal encodings (compare them with JSON.stringify). */
  encode(state: S): Json;
  /**
   * Exactly `JSON.stringify(encode(state))`, built as text where that saves building the JSON value first:
   * the materializer serialises every tile and slice row it merges at every commit, and for a growing set
   * or sketch the array `encode` builds, then stringifies, was most of that work. Required rather than
   * optional, so that callers need no fallback; where text saves nothing it is JSON.stringify(encode).
   * Return a flat string (`join`), not a long `+` chain: a rope is copied flat again by every writer.
   */
  encodeText(state: S): string;
  /** The partial an encoding stands for; throws PartialDecodeError for anything `encode` cannot produce. */
  decode(json: unknown): S;
}

/**
 * A feature's partial in a stored row ({feature: partial}), or undefined when the row has none (the feature
 * was added to its view after the row was written). Only the row's own keys count: a feature may be
 * named `constructor`, which every parsed object otherwise inherits.
 */
export function partialIn(row: { readonly [feature: string]: unknown } | undefined, feature: string): unknown {
  return row !== undefined && Object.hasOwn(row, feature) ? row[feature] : undefined;
}

/** What a CORRUPT_PARTIAL message shows of the stored text: its first 80 characters. */
const clipped = (text: string): string => (text.length > 80 ? `${text.slice(0, 80)}…` : text);

/** A stored partial that cannot be read back: corruption or a format from another version. */
export class PartialDecodeError extends SkewlessError {
  constructor(fn: AggregateFunction, json: unknown) {
    super('CORRUPT_PARTIAL', `cannot decode a stored ${fn} partial: ${clipped(JSON.stringify(json) ?? String(json))}`, { httpStatus: 500 });
  }
}

/** A stored tile or slice row whose text is not a JSON object of partials: the same corruption, a row up. */
export class PartialsRowError extends SkewlessError {
  constructor(text: string) {
    super('CORRUPT_PARTIAL', `cannot read a stored tile or slice row: ${clipped(text)}`, { httpStatus: 500 });
  }
}

/** a ⊕ b as a new partial; neither argument is changed. Commutative and associative, bit for bit. */
export function merge<S>(aggregator: Aggregator<S>, a: S, b: S): S {
  return aggregator.mergeInto(aggregator.mergeInto(aggregator.empty(), a), b);
}

/** True for the inputs every aggregation skips. */
export function isMissing(value: unknown): value is null | undefined {
  return value === null || value === undefined;
}
