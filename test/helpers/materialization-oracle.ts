/**
 * What the fault tests that restart a service under a running materializer share: events and rows to
 * produce for the materializerRepo schema, how far a consumer group has committed, and the check that
 * the final offline state equals an oracle computed from what was produced (every row and event once,
 * windows equal to the same functions over the produced events).
 */
import assert from 'node:assert/strict';
import type { Kafka, Message } from 'kafkajs';
import { valueAt } from '../../src/features/aggregate/finalize.ts';
import type { Registry } from '../../src/registry/registry.ts';
import type { AggregationView } from '../../src/registry/types.ts';
import { offlineAggregationValues } from '../../src/serving/aggregation-offline.ts';
import type { OfflineStore } from '../../src/stores/types.ts';
import { historyTable } from '../../src/stores/sql/history.ts';
import { OFFSETS, eventsTable } from '../../src/stores/sql/materializer-tables.ts';
import { testProducer } from './services.ts';

export interface Produced {
  readonly rows: Message[];
  readonly events: Message[];
  /** Row messages per user: what the history table must hold. */
  readonly rowsPerUser: ReadonlyMap<string, number>;
}

interface RawEvent {
  readonly user_id: string;
  readonly amount: number;
  readonly at: string;
}

/** `count` rows and as many events over `users` users whose ids start with `id`, an hour back. */
export function messagesFor(id: string, count: number, users: number): Produced {
  const base = Date.now() - 3_600_000;
  const rowsPerUser = new Map<string, number>();
  const rows: Message[] = [];
  const events: Message[] = [];
  for (let i = 0; i < count; i++) {
    const user = `${id}-u${i % users}`;
    rows.push({ key: user, value: JSON.stringify({ user_id: user, event_timestamp: base + i, n: i }) });
    rowsPerUser.set(user, (rowsPerUser.get(user) ?? 0) + 1);
    const event: RawEvent = { user_id: user, amount: i / 4, at: new Date(base + i).toISOString() };
    events.push({ key: user, value: JSON.stringify(event) });
  }
  return { rows, events, rowsPerUser };
}

/**
 * `count` row messages over `users` users from `base` on, mostly rising in time but every seventh older
 * than the user's newest so far (out of order), with what they imply: each user's newest row (what the
 * online store must end on) and the rows per user (what history must hold).
 */
export function outOfOrderRows(id: string, count: number, users: number, base: number): { rows: Message[]; newest: Map<string, { n: number; at: number }>; rowsPerUser: Map<string, number> } {
  const newest = new Map<string, { n: number; at: number }>();
  const rowsPerUser = new Map<string, number>();
  const rows: Message[] = [];
  for (let i = 0; i < count; i++) {
    const user = `${id}-u${i % users}`;
    const at = i % 7 === 6 ? base - i : base + i;
    rows.push({ key: user, value: JSON.stringify({ user_id: user, event_timestamp: at, n: i }) });
    const seen = newest.get(user);
    if (seen === undefined || at > seen.at) newest.set(user, { n: i, at });
    rowsPerUser.set(user, (rowsPerUser.get(user) ?? 0) + 1);
  }
  return { rows, newest, rowsPerUser };
}

/** Messages the group has committed to PostgreSQL, over every partition (offsets start at 0). */
export async function committedCount(offline: OfflineStore, group: string): Promise<number> {
  const rows = await offline.query<{ n: string | null }>(`select sum(next_offset) as n from ${OFFSETS} where group_id = $1`, [group]);
  return Number(rows[0]!.n ?? 0);
}

/** Asserts history, archive and aggregation windows equal what `produced` implies. */
export async function assertExactlyOnce(offline: OfflineStore, registry: Registry, names: { id: string; source: string; rowsView: string; spendView: string }, produced: Produced): Promise<void> {
  const history = await offline.query<{ user_id: string; n: string }>(`select user_id, count(*) as n from ${historyTable(names.rowsView)} group by user_id`);
  assert.equal(history.reduce((sum, r) => sum + Number(r.n), 0), produced.rows.length, 'every row once: none lost, none twice');
  for (const r of history) assert.equal(Number(r.n), produced.rowsPerUser.get(r.user_id), `rows of ${r.user_id}`);
  const archived = await offline.query<{ n: string }>(`select count(*) as n from ${eventsTable(names.source)} where user_id like $1`, [`${names.id}-%`]);
  assert.equal(Number(archived[0]!.n), produced.events.length, 'every event archived once');

  const spend = registry.view(names.spendView) as AggregationView;
  const raw = produced.events.map((m) => JSON.parse(m.value as string) as RawEvent);
  const t = Date.now();
  for (const user of produced.rowsPerUser.keys()) {
    const mine = raw.filter((e) => e.user_id === user).map((e) => ({ time: Date.parse(e.at), row: { ...e, at: Date.parse(e.at) } }));
    const want = Object.fromEntries(spend.features.map((f) => [f.name, valueAt(f, [], mine, t)]));
    assert.deepEqual(await offlineAggregationValues(registry, offline, spend, { user_id: user }, t), want, `${user}: windows`);
  }
}

/** Produces rows and events `from`..`to` (exclusive) of `produced`, through a producer of its own. */
export async function produceSlice(kafka: Kafka, topics: { rowsTopic: string; eventsTopic: string }, produced: Produced, from: number, to: number): Promise<void> {
  const producer = testProducer(kafka);
  await producer.connect();
  try {
    await producer.send({ topic: topics.rowsTopic, messages: produced.rows.slice(from, to) });
    await producer.send({ topic: topics.eventsTopic, messages: produced.events.slice(from, to) });
  } finally {
    await producer.disconnect();
  }
}
