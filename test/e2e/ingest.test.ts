/**
 * `skewless ingest` as users run it, on real PostgreSQL and Redis (and through a running gateway): what
 * lands offline and online, all or nothing for a file with bad rows, and the refusals.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { postgresOfflineStore } from '../../src/stores/postgres/offline.ts';
import { RedisOnlineStore } from '../../src/stores/redis/online.ts';
import type { OfflineStore } from '../../src/stores/types.ts';
import { embeddedEnv, postGraphQL, runCli, startGateway } from '../helpers/cli.ts';
import type { RunningGateway } from '../helpers/cli.ts';
import { FIXTURES } from '../helpers/paths.ts';
import { serviceUrl } from '../helpers/services.ts';

const SCHEMA = ['--schema', 'test/fixtures/repos/serving/schema', '--transforms', 'test/fixtures/repos/serving/transforms'];
const ms = (iso: string) => Date.parse(iso);

describe('skewless ingest', () => {
  let dir: string;
  let offline: OfflineStore;
  let online: RedisOnlineStore;
  const storesEnv = () => embeddedEnv({ DATABASE_URL: serviceUrl('DATABASE_URL'), REDIS_URL: serviceUrl('REDIS_URL') });
  const ingest = (args: readonly string[], env = storesEnv()) => runCli(['ingest', ...args, ...SCHEMA], env);

  /** A fixture with its USER_n placeholders replaced by ids no other run uses, copied to the temp dir. */
  async function fixture(name: string, options: { crlf?: boolean } = {}): Promise<{ file: string; users: string[] }> {
    const users = Array.from({ length: 3 }, () => randomUUID());
    let text = (await readFile(path.join(FIXTURES, 'ingest', name), 'utf8')).replace(/USER_(\d)/g, (_, n: string) => users[Number(n) - 1]!);
    if (options.crlf === true) text = text.replace(/\n/g, '\r\n');
    const file = path.join(dir, `${randomUUID()}-${name}`);
    await writeFile(file, text);
    return { file, users };
  }

  const history = (view: string, users: readonly string[]) =>
    offline.query<Record<string, unknown>>(`select * from skewless.history_${view} where user_id = any($1) order by event_timestamp, user_id`, [users]);
  const onlineValues = async (view: string, users: readonly string[]) =>
    (await online.read(users.map((u) => ({ view, entity: 'User', entityKey: u })))).map((e) => (e === null || e instanceof Error || !('values' in e) ? e : e.values));

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'skewless-ingest-'));
    offline = postgresOfflineStore(serviceUrl('DATABASE_URL'));
    online = new RedisOnlineStore(serviceUrl('REDIS_URL'));
    await online.waitUntilReady();
  });
  after(async () => {
    await Promise.all([offline.close(), online.close(), rm(dir, { recursive: true, force: true })]);
  });

  it('loads a CSV file into offline history and the online store, with one arrival time as created_timestamp', async () => {
    const { file, users } = await fixture('stats_a.csv');
    const started = Date.now();
    const { code, stdout, stderr } = await ingest(['stats_a', file]);
    assert.equal(code, 0, stderr);
    assert.equal(stdout, 'ingested 2 rows into stats_a: 2 online values written, 0 kept (newer already stored)\n');
    const rows = await history('stats_a', users);
    assert.deepEqual(rows.map((r) => [r.user_id, (r.event_timestamp as Date).toISOString(), r.a_int, r.a_float]), [
      [users[1], '2026-11-20T09:00:00.000Z', -3, null],
      [users[0], '2026-11-20T10:00:00.000Z', 7, 0.5],
    ]);
    const created = rows.map((r) => (r.created_timestamp as Date).getTime());
    assert.equal(created[0], created[1]);
    assert.ok(created[0]! >= started && created[0]! <= Date.now(), 'created_timestamp is the time of the ingest');
    assert.deepEqual(await onlineValues('stats_a', users.slice(0, 2)), [
      { a_int: 7, a_float: 0.5 },
      { a_int: -3, a_float: null },
    ]);
  });

  it('loads a JSON-lines file the same way, keeping a created_timestamp the file gives', async () => {
    const { file, users } = await fixture('stats_a.jsonl');
    const { code, stdout, stderr } = await ingest(['stats_a', file]);
    assert.equal(code, 0, stderr);
    assert.equal(stdout, 'ingested 2 rows into stats_a: 2 online values written, 0 kept (newer already stored)\n');
    const rows = await history('stats_a', users);
    assert.deepEqual(rows.map((r) => [r.user_id, r.a_int, r.a_float]), [
      [users[1], -3, null],
      [users[0], 7, 0.5],
    ]);
    assert.equal((rows[0]!.created_timestamp as Date).toISOString(), '2026-11-20T11:00:00.000Z');
    const [first, second] = await online.read(users.slice(0, 2).map((u) => ({ view: 'stats_a', entity: 'User', entityKey: u })));
    assert.deepEqual(first, { eventTs: ms('2026-11-20T10:00:00Z'), createdTs: (rows[1]!.created_timestamp as Date).getTime(), values: { a_int: 7, a_float: 0.5 } });
    assert.deepEqual(second, { eventTs: ms('2026-11-20T09:00:00Z'), createdTs: ms('2026-11-20T11:00:00Z'), values: { a_int: -3, a_float: null } });
  });

  it('keeps the newest row online and every row in history when the file is out of order across batches', async () => {
    const { file, users } = await fixture('out-of-order.jsonl');
    // One row per batch: the newest row is written first, and the two older ones arrive after it.
    const { code, stdout, stderr } = await ingest(['stats_a', file, '--batch-size', '1']);
    assert.equal(code, 0, stderr);
    assert.equal(stdout, 'ingested 3 rows into stats_a: 1 online values written, 2 kept (newer already stored)\n');
    const rows = await history('stats_a', users);
    assert.deepEqual(rows.map((r) => r.a_int), [1, 2, 3]);
    assert.equal(new Set(rows.map((r) => (r.created_timestamp as Date).getTime())).size, 1, 'one arrival time for every batch');
    assert.deepEqual(await onlineValues('stats_a', [users[0]!]), [{ a_int: 3, a_float: null }]);
  });

  it('writes nothing from a CSV file with bad rows and lists every one with its record and line', async () => {
    const { file, users } = await fixture('bad.csv');
    const { code, stdout, stderr } = await ingest(['stats_a', file]);
    assert.equal(code, 1);
    assert.equal(stdout, '');
    const report = stderr.slice(stderr.indexOf('skewless ingest:'));
    assert.equal(
      report,
      [
        `skewless ingest: ${file} has 7 problems in 6 of 7 records; nothing was written`,
        '  record 2 (line 3), a_int: must be a 32-bit integer, got "one"',
        '  record 3 (line 4), user_id: join key "user_id" must be a non-empty string or an integer, got ""',
        '  record 4 (line 5), event_timestamp: must be ISO-8601 with a zone or epoch milliseconds',
        '  record 5 (line 6): malformed CSV: 3 fields, but the header has 4 columns',
        '  record 6 (line 7), a_int: must be a 32-bit integer, got "99999999999"',
        '  record 6 (line 7), a_float: must be a finite number, got "x"',
        '  record 7 (line 9): malformed CSV: unterminated quoted field: the quote opened on line 9 is never closed',
        '',
      ].join('\n'),
    );
    assert.deepEqual(await history('stats_a', users), []);
    assert.deepEqual(await onlineValues('stats_a', users.slice(0, 2)), [null, null]);
  });

  it('writes nothing from a JSON-lines file with bad rows and lists every one with its line', async () => {
    const { file, users } = await fixture('bad.jsonl');
    const { code, stderr } = await ingest(['stats_a', file]);
    assert.equal(code, 1);
    const lines = stderr.slice(stderr.indexOf('skewless ingest:')).trimEnd().split('\n');
    assert.equal(lines[0], `skewless ingest: ${file} has 5 problems in 4 of 5 records; nothing was written`);
    assert.equal(lines[1], '  line 2, a_int: must be a 32-bit integer, got number 1.5');
    assert.match(lines[2]!, /^ {2}line 3: invalid JSON: /);
    assert.equal(lines[3], '  line 5: a row must be an object of join keys, event_timestamp and feature values');
    assert.equal(lines[4], '  line 6, a_flot: view stats_a has no feature "a_flot" (did you mean "a_float"?)');
    assert.equal(lines[5], '  line 6, event_timestamp: is missing');
    assert.equal(lines.length, 6);
    assert.deepEqual(await history('stats_a', users), []);
  });

  it('lists the first 100 problems of a file and counts the rest', async () => {
    const file = path.join(dir, 'many-bad.jsonl');
    await writeFile(file, Array.from({ length: 150 }, (_, i) => JSON.stringify({ user_id: randomUUID(), event_timestamp: 'soon', a_int: i })).join('\n'));
    const { code, stderr } = await ingest(['stats_a', file]);
    assert.equal(code, 1);
    const lines = stderr.slice(stderr.indexOf('skewless ingest:')).trimEnd().split('\n');
    assert.equal(lines[0], `skewless ingest: ${file} has 150 problems in 150 of 150 records; nothing was written`);
    assert.equal(lines[100], '  line 100, event_timestamp: must be ISO-8601 with a zone or epoch milliseconds');
    assert.equal(lines[101], '  … and 50 more problems (only the first 100 are listed)');
    assert.equal(lines.length, 102);
  });

  it('reads quoted CSV cells holding commas, quotes and line breaks, in a CRLF file, into every feature type', async () => {
    const { file, users } = await fixture('quoted.csv', { crlf: true });
    const { code, stdout, stderr } = await ingest(['all_types', file]);
    assert.equal(code, 0, stderr);
    assert.equal(stdout, 'ingested 2 rows into all_types: 2 online values written, 0 kept (newer already stored)\n');
    const rows = await history('all_types', users);
    const byUser = new Map(rows.map((r) => [r.user_id, r]));
    const one = byUser.get(users[0]!)!;
    assert.deepEqual([one.t_int, one.t_float, one.t_string, one.t_bool, one.t_id, (one.t_time as Date).toISOString(), one.t_json, one.t_list, one.t_required], [
      42,
      2.5,
      'Smith, Jane said "hi"\r\non two lines',
      true,
      '7',
      '2026-11-19T00:00:00.000Z',
      { a: [1, 2], b: 'x,y' },
      [1.5, 2],
      1,
    ]);
    const two = byUser.get(users[1]!)!;
    assert.deepEqual([two.t_int, two.t_string, two.t_bool, two.t_id, (two.t_time as Date).toISOString(), two.t_json, two.t_required], [null, null, false, 'id,with,commas', '2026-11-19T00:00:00.000Z', null, 0]);
    const [onlineOne] = await onlineValues('all_types', [users[0]!]);
    assert.equal((onlineOne as Record<string, unknown>).t_string, 'Smith, Jane said "hi"\r\non two lines');
    assert.deepEqual((onlineOne as Record<string, unknown>).t_json, { a: [1, 2], b: 'x,y' });
  });

  it('ingests 50,000 rows in batches, in bounded steps, reporting progress on stderr', async (t) => {
    const users = Array.from({ length: 1000 }, () => randomUUID());
    const base = Date.now() - 3_600_000;
    const lines = ['user_id,event_timestamp,a_int,a_float'];
    // Every user appears in every batch of 5,000 rows, each time newer: each batch writes each user online once.
    for (let i = 0; i < 50_000; i++) lines.push(`${users[i % 1000]},${new Date(base + Math.floor(i / 1000) * 1000).toISOString()},${Math.floor(i / 1000)},${i / 2}`);
    const file = path.join(dir, 'large.csv');
    await writeFile(file, lines.join('\n') + '\n');
    const { code, stdout, stderr } = await ingest(['stats_a', file]);
    assert.equal(code, 0, stderr);
    assert.equal(stdout, 'ingested 50000 rows into stats_a: 10000 online values written, 0 kept (newer already stored)\n');
    assert.match(stderr, /^validated 50,000 rows in [\d.]+ s \([\d,]+ rows\/s\)$/m);
    const wrote = /^wrote 50,000 rows in [\d.]+ s \([\d,]+ rows\/s\)$/m.exec(stderr);
    assert.ok(wrote, stderr);
    t.diagnostic(wrote[0]);
    const [{ count }] = (await offline.query<{ count: string }>('select count(*) from skewless.history_stats_a where user_id = any($1)', [users])) as [{ count: string }];
    assert.equal(Number(count), 50_000);
    assert.deepEqual(await onlineValues('stats_a', [users[0]!, users[999]!]), [
      { a_int: 49, a_float: 24_500 },
      { a_int: 49, a_float: 24_999.5 },
    ]);
  });

  it('refuses to ingest into stores that would vanish at exit, saying what to set', async () => {
    const { file } = await fixture('stats_a.csv');
    const embedded = await ingest(['stats_a', file], embeddedEnv());
    assert.equal(embedded.code, 1);
    assert.match(embedded.stderr, /\(INGEST_NEEDS_STORES\)$/m);
    assert.match(embedded.stderr, /set DATABASE_URL .*--pglite-dir DIR.*set REDIS_URL/);
    const noRedis = await ingest(['stats_a', file], embeddedEnv({ DATABASE_URL: serviceUrl('DATABASE_URL') }));
    assert.equal(noRedis.code, 1);
    assert.match(noRedis.stderr, /INGEST_NEEDS_STORES/);
    assert.match(noRedis.stderr, /set REDIS_URL/);
    assert.doesNotMatch(noRedis.stderr, /DATABASE_URL/);
  });

  it('names an unknown view, an unreadable file and a misused command line', async () => {
    const { file } = await fixture('stats_a.csv');
    const view = await ingest(['stats_aa', file]);
    assert.equal(view.code, 1);
    assert.match(view.stderr, /unknown feature view "stats_aa" \(did you mean "stats_a"\?\) \(UNKNOWN_VIEW\)/);
    // The example repository's user_txn_windows is computed from its source, not pushed.
    const computed = await runCli(['ingest', 'user_txn_windows', file], storesEnv());
    assert.equal(computed.code, 1);
    assert.match(computed.stderr, /view user_txn_windows is computed from its source; only row views accept pushed rows \(NOT_A_ROW_VIEW\)/);
    const missing = path.join(dir, 'missing.csv');
    const unreadable = await ingest(['stats_a', missing]);
    assert.equal(unreadable.code, 1);
    assert.match(unreadable.stderr, new RegExp(`cannot read ${missing}: no such file \\(INGEST_FILE_UNREADABLE\\)`));
    const stdin = await ingest(['stats_a', '-']);
    assert.equal(stdin.code, 2);
    assert.match(stdin.stderr, /cannot read standard input/);
    const noFile = await ingest(['stats_a']);
    assert.equal(noFile.code, 2);
    assert.match(noFile.stderr, /usage: skewless ingest VIEW FILE/);
    const option = await ingest(['stats_a', file, '--formt', 'csv']);
    assert.equal(option.code, 2);
    assert.match(option.stderr, /unknown option --formt \(did you mean --format\?\)/);
    const batch = await ingest(['stats_a', file, '--batch-size', '0']);
    assert.equal(batch.code, 2);
    assert.match(batch.stderr, /--batch-size must be a positive integer/);
  });

  describe('through a running gateway (--gateway)', () => {
    let gateway: RunningGateway;
    // The gateway runs on its embedded stores; the CLI needs none of its own.
    const viaGateway = (args: readonly string[]) => ingest([...args, '--gateway', gateway.base], embeddedEnv());
    const frame = async (features: string[], users: readonly string[]) => {
      const { body } = await postGraphQL(gateway.base, 'query ($f: [String!], $e: [JSON!]!) { onlineFeatures(features: $f, entities: $e) { rows statuses } }', {
        f: features,
        e: users.map((u) => ({ user_id: u })),
      });
      assert.equal(body.errors, undefined, JSON.stringify(body.errors));
      return body.data!.onlineFeatures as { rows: unknown[][]; statuses: unknown[][] };
    };

    before(async () => {
      gateway = await startGateway([...SCHEMA, '--max-push-rows', '2']);
    });
    after(async () => {
      assert.equal(await gateway.stop(), 0);
    });

    it('pushes CSV rows in batches through pushFeatures, typed as the file says', async () => {
      const { file, users } = await fixture('quoted.csv');
      const { code, stdout, stderr } = await viaGateway(['all_types', file, '--batch-size', '1']);
      assert.equal(code, 0, stderr);
      assert.equal(stdout, 'ingested 2 rows into all_types: 2 online values written, 0 kept (newer already stored)\n');
      const f = await frame(['all_types:t_int', 'all_types:t_string', 'all_types:t_bool', 'all_types:t_id', 'all_types:t_time', 'all_types:t_json', 'all_types:t_list'], users.slice(0, 2));
      assert.deepEqual(f.rows, [
        [users[0], 42, 'Smith, Jane said "hi"\non two lines', true, '7', '2026-11-19T00:00:00.000Z', { a: [1, 2], b: 'x,y' }, [1.5, 2]],
        [users[1], null, null, false, 'id,with,commas', '2026-11-19T00:00:00.000Z', null, null],
      ]);
    });

    it('validates locally first: a file with a bad row sends nothing', async () => {
      const { file, users } = await fixture('bad.jsonl');
      const { code, stderr } = await viaGateway(['stats_a', file]);
      assert.equal(code, 1);
      assert.match(stderr, /has 5 problems in 4 of 5 records; nothing was written/);
      assert.deepEqual((await frame(['stats_a:a_int'], [users[0]!])).statuses, [[null, 'NOT_FOUND']]);
    });

    it("aborts with the gateway's message and code when it refuses a batch", async () => {
      const { file, users } = await fixture('out-of-order.jsonl');
      const { code, stdout, stderr } = await viaGateway(['stats_a', file, '--batch-size', '3']);
      assert.equal(code, 1);
      assert.equal(stdout, '');
      assert.match(stderr, /batch 1 \(line 1 to line 3\) failed: 3 rows in one push; the limit is 2 \(--max-push-rows\).*Nothing was written \(PUSH_TOO_LARGE\)$/m);
      assert.deepEqual((await frame(['stats_a:a_int'], [users[0]!])).statuses, [[null, 'NOT_FOUND']]);
    });

    it('says so when the gateway cannot be reached', async () => {
      const { file } = await fixture('stats_a.csv');
      const { code, stderr } = await runCli(['ingest', 'stats_a', file, ...SCHEMA, '--gateway', 'http://127.0.0.1:1'], embeddedEnv());
      assert.equal(code, 1);
      assert.match(stderr, /cannot reach the gateway at http:\/\/127\.0\.0\.1:1\/graphql: .*\(GATEWAY_UNREACHABLE\)/);
    });
  });
});
