/**
 * Scale-out: several `skewless materialize` processes in one consumer group share the partitions, and
 * partitions moving between them mid-stream lose nothing and count nothing twice.
 *
 * One run, four reassignments while the stream goes on (the test logs how many messages were waiting at each):
 *
 *   p1 alone ─ p2 joins (rebalance) ─ p1 and p2 share ─ p1 gets SIGTERM (graceful leave) ─ p2 alone
 *     ─ p3 joins (rebalance) ─ p2 gets kill -9 (its partitions move after the session timeout) ─ p3 alone
 *
 * Then the offline history (appended without any deduplication, so a double count would show), the event
 * archive, the aggregation tiles and the online values must equal an oracle computed from what was produced.
 *
 * The materializer does not log per batch, so who consumed what is shown from what Kafka's group
 * coordinator and PostgreSQL say, not from timing: p1 commits while it is the only process, p1 and p2 each
 * commit the part produced while the coordinator reports them sharing the partitions (see `consumedBy`), and
 * what is produced after p1 (then p2) has exited can only have been committed by the one still running.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { AssignerProtocol } from 'kafkajs';
import { kafkaClient } from '../../src/ops/kafka-client.ts';
import type { Admin, Message, Producer } from 'kafkajs';
import { windowPlan } from '../../src/features/aggregate/tiles.ts';
import type { Registry } from '../../src/registry/registry.ts';
import type { AggregationView } from '../../src/registry/types.ts';
import { offlineAggregationValues } from '../../src/serving/aggregation-offline.ts';
import { DEAD_LETTERS, OFFSETS, OUTBOX, eventsTable } from '../../src/stores/sql/materializer-tables.ts';
import { historyTable } from '../../src/stores/sql/history.ts';
import type { Stores } from '../../src/stores/open.ts';
import { outOfOrderRows } from '../helpers/materialization-oracle.ts';
import { materializerRepo, spawnMaterializer } from '../helpers/materializer.ts';
import type { MaterializerRepo } from '../helpers/materializer.ts';
import { registryFromSdl } from '../helpers/repos.ts';
import { kafkaTopics, realStores, serviceUrl, testProducer, uniqueName } from '../helpers/services.ts';

const ROWS = 24_000;
const EVENTS = 8_000;
const USERS = 300;
const PARTITIONS = 6;
/**
 * Where each part of the stream ends, as a fraction of all messages: A before p1, B1 while p2 joins, B2 while
 * p1 and p2 share, C just before p1's SIGTERM, D with p2 alone, E just before p2's kill -9, F with p3 alone.
 */
const PARTS = { A: 0.3, B1: 0.4, B2: 0.55, C: 0.65, D: 0.75, E: 0.9, F: 1 } as const;

interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  /** Its stdout and stderr, shown when it dies unexpectedly or the test fails. */
  output: string;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A group member as the coordinator describes it: its id and the `topic/partition`s assigned to it. */
interface Member {
  readonly id: string;
  readonly partitions: readonly string[];
}

describe('materializer: scale-out over one consumer group', () => {
  const id = uniqueName('scale');
  const rowsTopic = `${id}_rows`;
  const eventsTopic = `${id}_events`;
  const view = `${id}_stats`;
  const spendView = `${id}_spend`;
  const group = `${id}_group`;
  const brokers = serviceUrl('KAFKA_BROKERS');
  const kafka = kafkaClient('skewless-test', brokers.split(','));
  /** Materializers expected to be running: one that exits on its own fails the test. */
  const alive = new Set<Proc>();
  let repo: MaterializerRepo;
  let dir: string;
  let stores: Stores;
  let registry: Registry;
  let admin: Admin;
  let producer: Producer;

  before(async () => {
    repo = await materializerRepo('scale', { source: 'ScaleTxn', eventsTopic, rowsTopic, rowsView: view, spendView });
    dir = repo.dir;
    stores = await realStores();
    registry = await registryFromSdl(repo.sdl);
    // As each materializer does at start; here so that offsets can be polled before the first has started.
    await stores.offline.ensureSchema(registry);
    await kafkaTopics(kafka, 'create', [rowsTopic, eventsTopic], PARTITIONS);
    admin = kafka.admin();
    await admin.connect();
    producer = testProducer(kafka);
    await producer.connect();
  });

  after(async () => {
    for (const proc of alive) {
      proc.child.kill('SIGKILL');
      await proc.exit;
    }
    await producer.disconnect();
    await admin.disconnect();
    await kafkaTopics(kafka, 'delete', [rowsTopic, eventsTopic]);
    await stores.online.close();
    await stores.offline.close();
    await rm(dir, { recursive: true, force: true });
  });

  const start = (name: string): Proc => {
    const child = spawnMaterializer(repo, group, 'warn', ['ignore', 'pipe', 'pipe']);
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const proc: Proc = { name, child, output: '', exit };
    const keep = (chunk: Buffer) => (proc.output = (proc.output + chunk.toString('utf8')).slice(-20_000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    alive.add(proc);
    return proc;
  };
  /** Ends a process on purpose and waits for it to be gone. */
  const stop = async (proc: Proc, signal: 'SIGTERM' | 'SIGKILL') => {
    alive.delete(proc);
    proc.child.kill(signal);
    return proc.exit;
  };
  /** Polls until `done`; the deadline only bounds a broken run. A materializer that dies on its own fails the test at once. */
  const until = async (done: () => Promise<boolean>, what: string, ms = 90_000) => {
    const deadline = Date.now() + ms;
    while (!(await done())) {
      for (const proc of alive) {
        if (proc.child.exitCode !== null || proc.child.signalCode !== null) assert.fail(`${proc.name} exited while waiting for ${what}:\n${proc.output}`);
      }
      if (Date.now() > deadline) {
        const progress = `stored offsets ${JSON.stringify(Object.fromEntries(await offsets()))}, partition ends ${JSON.stringify(Object.fromEntries(await highWatermarks()))}`;
        assert.fail(`timed out waiting for ${what}; ${progress}\n${[...alive].map((p) => `${p.name}:\n${p.output}`).join('\n')}`);
      }
      await delay(50);
    }
  };
  /** Offsets stored in PostgreSQL, `topic/partition` → next offset; both topics are new, so they count messages. */
  const offsets = async () => {
    const rows = await stores.offline.query<{ topic: string; partition: number; next_offset: string }>(`select topic, partition, next_offset from ${OFFSETS} where group_id = $1`, [group]);
    return new Map(rows.map((r) => [`${r.topic}/${r.partition}`, Number(r.next_offset)]));
  };
  const committed = async () => [...(await offsets()).values()].reduce((a, b) => a + b, 0);
  /** Kafka's end offsets, `topic/partition` → high watermark. */
  const highWatermarks = async () => {
    const out = new Map<string, number>();
    for (const topic of [rowsTopic, eventsTopic]) for (const p of await admin.fetchTopicOffsets(topic)) out.set(`${topic}/${p.partition}`, Number(p.high));
    return out;
  };
  /** The group as its coordinator sees it: state, and each member's assigned partitions. */
  const describeGroup = async (): Promise<{ state: string; members: Member[] }> => {
    const { groups } = await admin.describeGroups([group]);
    const g = groups[0]!;
    return {
      state: g.state,
      members: g.members.map((m) => {
        const decoded = m.memberAssignment.length === 0 ? null : AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
        const partitions = Object.entries(decoded?.assignment ?? {}).flatMap(([topic, list]) => list.map((p) => `${topic}/${p}`));
        return { id: m.memberId, partitions: partitions.sort() };
      }).sort((a, b) => a.id.localeCompare(b.id)),
    };
  };
  /** Waits until the group is stable with `n` members, each assigned at least one partition, and returns them. */
  const settled = async (n: number, what: string): Promise<Member[]> => {
    let members: Member[] = [];
    await until(async () => {
      const g = await describeGroup();
      members = g.members;
      return g.state === 'Stable' && members.length === n && members.every((m) => m.partitions.length > 0);
    }, what);
    return members;
  };

  it('shares partitions between processes and loses or duplicates nothing when they move mid-stream', { timeout: 300_000 }, async (t) => {
    const base = Date.now() - 4 * 3_600_000;
    // Mostly rising event times, every seventh row older than the user's newest so far: out of order.
    const { rows: rowMessages, newest, rowsPerUser } = outOfOrderRows(id, ROWS, USERS, base);
    const events = Array.from({ length: EVENTS }, (_, i) => ({ user_id: `${id}-u${(i * 7) % USERS}`, amount: (i % 97) / 4, at: base + i }));
    const eventMessages: Message[] = events.map((e) => ({ key: e.user_id, value: JSON.stringify({ ...e, at: new Date(e.at).toISOString() }) }));

    const rowsUpTo = (fraction: number) => Math.round(fraction * ROWS);
    const eventsUpTo = (fraction: number) => Math.round(fraction * EVENTS);
    let producedUpTo = 0;
    /** Produces both streams from where the last part ended up to `fraction` of each, rows and events interleaved in chunks. */
    const produce = async (fraction: number) => {
      const [r1, e1] = [rowsUpTo(fraction), eventsUpTo(fraction)];
      for (let r = rowsUpTo(producedUpTo), e = eventsUpTo(producedUpTo); r < r1 || e < e1; r += 1_500, e += 500) {
        if (r < r1) await producer.send({ topic: rowsTopic, messages: rowMessages.slice(r, Math.min(r + 1_500, r1)) });
        if (e < e1) await producer.send({ topic: eventsTopic, messages: eventMessages.slice(e, Math.min(e + 500, e1)) });
      }
      producedUpTo = fraction;
    };
    const all = (fraction: number) => async () => (await committed()) === rowsUpTo(fraction) + eventsUpTo(fraction);
    /** How many produced messages were not yet committed when a reassignment was forced: shows it was mid-stream. */
    const backlog = async (what: string) => t.diagnostic(`${what}: ${rowsUpTo(producedUpTo) + eventsUpTo(producedUpTo) - (await committed())} messages waiting`);

    // p1 alone: whatever is committed now, p1 committed.
    await produce(PARTS.A);
    const p1 = start('p1');
    await until(async () => (await committed()) > 0, 'p1 to commit something');
    const [m1] = await settled(1, 'p1 to hold the group alone');
    assert.equal(m1!.partitions.length, 2 * PARTITIONS, 'p1 alone holds every partition');

    // p2 joins while p1 is busy and more is produced: the first rebalance.
    await backlog('p2 joins');
    const p2 = start('p2');
    await produce(PARTS.B1);
    const shared = await settled(2, 'p1 and p2 to share the partitions');
    const m2 = shared.find((m) => m.id !== m1!.id);
    assert.ok(m2 !== undefined && shared.some((m) => m.id === m1!.id), `p1 keeps its member id and p2 is the other: ${JSON.stringify(shared)}`);
    assert.equal(new Set(shared.flatMap((m) => m.partitions)).size, 2 * PARTITIONS, 'p1 and p2 hold every partition between them, none twice');
    assert.equal(shared.flatMap((m) => m.partitions).length, 2 * PARTITIONS);

    // Who consumed B2: it is produced only after the coordinator reported this assignment, and the assignment
    // is the same after B2 was all committed, so each B2 message was fetched — and committed — by the member
    // holding its partition (a batch fetched under an older assignment can only hold messages produced before).
    const beforeB2 = await highWatermarks();
    await produce(PARTS.B2);
    const afterB2 = await highWatermarks();
    await until(all(PARTS.B2), 'p1 and p2 to commit everything produced so far');
    assert.deepEqual(await describeGroup(), { state: 'Stable', members: shared }, 'no reassignment while B2 was consumed');
    const consumedBy = (m: Member) => m.partitions.reduce((sum, p) => sum + afterB2.get(p)! - beforeB2.get(p)!, 0);
    t.diagnostic(`B2 committed by p1: ${consumedBy(shared.find((m) => m.id === m1!.id)!)} messages, by p2: ${consumedBy(m2)}`);
    for (const m of shared) assert.ok(consumedBy(m) > 0, `${m.id === m1!.id ? 'p1' : 'p2'} committed part of B2 on its partitions`);

    // p1 leaves gracefully with messages waiting: the second rebalance.
    await produce(PARTS.C);
    await backlog('p1 gets SIGTERM');
    assert.deepEqual(await stop(p1, 'SIGTERM'), { code: 0, signal: null }, `p1 exits cleanly:\n${p1.output}`);
    // p2 alone: D is produced after p1 is gone, so only p2 can have committed it.
    await produce(PARTS.D);
    await until(all(PARTS.D), 'p2 alone to commit everything produced so far');
    const [alone] = await settled(1, 'p2 to hold the group alone');
    assert.deepEqual(alone, { id: m2.id, partitions: [...shared.flatMap((m) => m.partitions)].sort() }, 'p2 took over every partition');

    // p3 joins, and p2 is killed with messages waiting: its partitions move after the session timeout.
    const p3 = start('p3');
    const third = await settled(2, 'p2 and p3 to share the partitions');
    assert.ok(third.some((m) => m.id === m2.id), 'p2 is still a member');
    await produce(PARTS.E);
    await backlog('p2 gets kill -9');
    assert.equal((await stop(p2, 'SIGKILL')).signal, 'SIGKILL');
    // p3 alone: F is produced after p2 is dead, so only p3 can have committed it.
    await produce(PARTS.F);
    await until(all(PARTS.F), 'p3 to commit everything');
    const [last] = await settled(1, 'p3 to hold the group alone');
    assert.deepEqual(last, { id: third.find((m) => m.id !== m2.id)!.id, partitions: alone!.partitions }, 'p3 took over every partition of the killed p2');
    await until(async () => (await stores.offline.query(`select 1 from ${OUTBOX} where view = $1 limit 1`, [view])).length === 0, 'the outbox to drain');
    assert.deepEqual(await stop(p3, 'SIGTERM'), { code: 0, signal: null }, `p3 exits cleanly:\n${p3.output}`);

    // Nothing refused: every message counts below.
    const dead = await stores.offline.query<{ n: string }>(`select count(*) as n from ${DEAD_LETTERS} where topic in ($1, $2)`, [rowsTopic, eventsTopic]);
    assert.equal(Number(dead[0]!.n), 0, 'no dead letters');
    // Each stored offset is exactly its partition's end: nothing skipped over, nothing past the end.
    assert.deepEqual(Object.fromEntries([...(await offsets())].sort()), Object.fromEntries([...(await highWatermarks())].sort()), 'stored offsets equal the partitions’ ends');

    const history = await stores.offline.query<{ user_id: string; n: string }>(`select user_id, count(*) as n from ${historyTable(view)} group by user_id`);
    assert.equal(history.reduce((sum, r) => sum + Number(r.n), 0), ROWS, 'every row once: none lost, none twice');
    assert.equal(history.length, USERS);
    for (const r of history) assert.equal(Number(r.n), rowsPerUser.get(r.user_id), `rows of ${r.user_id}`);
    const archived = await stores.offline.query<{ n: string }>(`select count(*) as n from ${eventsTable('ScaleTxn')} where user_id like $1`, [`${id}-%`]);
    assert.equal(Number(archived[0]!.n), EVENTS, 'every event archived once');

    // Tiles: events are hours old, so the windows at now read completed tiles only (no archived head events),
    // and each user's COUNT and SUM must be exactly the produced events' (amounts are quarters: sums are exact).
    const spend = registry.view(spendView) as AggregationView;
    const now = Date.now();
    for (const f of spend.features) {
      const plan = windowPlan(f.aggregation!, now);
      assert.ok(plan.from <= base && plan.head > base + EVENTS, `${f.name}: every event lies in a completed tile of the window`);
    }
    const want = new Map<string, { c: number; s: number }>();
    for (const e of events) {
      const w = want.get(e.user_id) ?? { c: 0, s: 0 };
      want.set(e.user_id, { c: w.c + 1, s: w.s + e.amount });
    }
    assert.equal(want.size, USERS);
    for (const [user, values] of want) {
      assert.deepEqual(await offlineAggregationValues(registry, stores.offline, spend, { user_id: user }, now), values, `${user}: tiles`);
    }

    const users = [...newest.keys()];
    const online = await stores.online.read(users.map((u) => ({ view, entity: 'User', entityKey: u })));
    online.forEach((entry, i) => {
      const want = newest.get(users[i]!)!;
      assert.ok(entry !== null && !(entry instanceof Error) && 'eventTs' in entry, `${users[i]} online`);
      assert.deepEqual([entry.eventTs, entry.values.n], [want.at, want.n], `${users[i]}: the newest row online`);
    });
  });
});
