/**
 * Kafka messages in, checked domain values out (pure). Each topic carries either raw events of one
 * `@source` or precomputed rows of one row view (`@featureView(topic:)`); a message is a JSON object:
 *
 *   source topic:   the source type's fields, e.g. {"user_id":"u1","merchant_id":"m7","amount":12.5,
 *                   "event_time":"2026-11-21T05:31:09Z"}; unknown fields are refused.
 *   row-view topic: a row as pushFeatures takes it (join keys, event_timestamp, optional
 *                   created_timestamp, features). Without created_timestamp the message's Kafka timestamp
 *                   is used: a replay then gives the same row, where the arrival time would not.
 *
 * Anything else becomes a dead letter with a reason code and the raw payload, never an exception: one bad
 * message must not stop a partition.
 */
import { normalizeValue } from '../features/values.ts';
import { validateRows, formatRowError } from '../ingest/rows.ts';
import type { FeatureRow } from '../ingest/rows.ts';
import type { Registry } from '../registry/registry.ts';
import type { EventSource, RowView } from '../registry/types.ts';
import { closest } from '../registry/suggest.ts';

/** Where a message came from: enough to find it again, and to commit past it. */
export interface MessagePosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export interface RawMessage extends MessagePosition {
  readonly value: string | null;
  /** The Kafka message timestamp, epoch ms. */
  readonly timestampMs: number;
}

/** A raw event, its fields normalised to the source's types (DateTime as epoch ms). */
export interface SourceEvent extends MessagePosition {
  readonly source: string;
  readonly eventTs: number;
  /** Its message's Kafka timestamp: what decides, the same way on every replay, which online pieces it feeds. */
  readonly messageTs: number;
  readonly fields: Readonly<Record<string, unknown>>;
}

export interface RowMessage extends MessagePosition {
  readonly view: string;
  readonly row: FeatureRow;
}

/**
 * Why a message was set aside. MALFORMED: not a JSON object. INVALID: does not match its source or view.
 * LATE / FUTURE: dated before the allowed lateness or after the allowed clock skew.
 */
export type DeadLetterReason = 'MALFORMED' | 'INVALID' | 'LATE' | 'FUTURE';

export interface DeadLetter extends MessagePosition {
  readonly payload: string | null;
  readonly reason: DeadLetterReason;
  readonly message: string;
}

export type Decoded = { readonly kind: 'event'; readonly event: SourceEvent } | { readonly kind: 'row'; readonly row: RowMessage } | { readonly kind: 'dead'; readonly dead: DeadLetter };

export type Route = { readonly kind: 'source'; readonly source: EventSource } | { readonly kind: 'rows'; readonly view: RowView };

/** Every topic the materializer reads and what it carries; a topic claimed twice is a configuration error. */
export function topicRoutes(registry: Registry): Map<string, Route> {
  const routes = new Map<string, Route>();
  const claim = (topic: string, route: Route, by: string) => {
    const taken = routes.get(topic);
    if (taken !== undefined) {
      const other = taken.kind === 'source' ? `source ${taken.source.name}` : `view ${taken.view.name}`;
      throw new Error(`topic "${topic}" is named by ${other} and by ${by}: one topic carries one kind of message`);
    }
    routes.set(topic, route);
  };
  for (const source of registry.sources) claim(source.topic, { kind: 'source', source }, `source ${source.name}`);
  for (const view of registry.views) if (view.kind === 'row' && view.topic !== undefined) claim(view.topic, { kind: 'rows', view }, `view ${view.name}`);
  return routes;
}

const namesOf = new WeakMap<EventSource, ReadonlySet<string>>();

/** A source's field names, as a set: looked up for every field of every message. */
function fieldNames(source: EventSource): ReadonlySet<string> {
  let names = namesOf.get(source);
  if (names === undefined) namesOf.set(source, (names = new Set(source.fields.map((f) => f.name))));
  return names;
}

export function decodeMessage(registry: Registry, route: Route, message: RawMessage): Decoded {
  const position = { topic: message.topic, partition: message.partition, offset: message.offset };
  const dead = (reason: DeadLetterReason, text: string): Decoded => ({ kind: 'dead', dead: { ...position, payload: message.value, reason, message: text } });
  let body: unknown;
  try {
    body = message.value === null ? null : JSON.parse(message.value);
  } catch (error) {
    return dead('MALFORMED', `not JSON: ${(error as Error).message}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return dead('MALFORMED', 'a message must be a JSON object');
  const object = body as Record<string, unknown>;

  if (route.kind === 'rows') {
    const entity = registry.entity(route.view.entity)!;
    const checked = validateRows(route.view, entity, [object], { arrivalMs: message.timestampMs, maxErrors: 20 });
    if (!checked.ok) return dead('INVALID', checked.errors.map(formatRowError).join('; ').replace(/^row 0(, )?/, ''));
    return { kind: 'row', row: { ...position, view: route.view.name, row: checked.rows[0]! } };
  }

  const { source } = route;
  const problems: string[] = [];
  const declared = fieldNames(source);
  for (const name in object) {
    if (!declared.has(name)) {
      const hint = closest(name, source.fields.map((f) => f.name));
      problems.push(`source ${source.name} has no field "${name}"${hint === undefined ? '' : ` (did you mean "${hint}"?)`}`);
    }
  }
  const fields: Record<string, unknown> = {};
  for (const field of source.fields) {
    const v = normalizeValue(field.type, object[field.name]);
    if (v.ok) fields[field.name] = v.value;
    else problems.push(`${field.name}: ${v.reason}`);
  }
  if (problems.length > 0) return dead('INVALID', problems.join('; '));
  return { kind: 'event', event: { ...position, source: source.name, eventTs: fields[source.timestampField] as number, messageTs: message.timestampMs, fields } };
}
