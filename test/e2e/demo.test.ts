/**
 * The demo is live: `npm start` with no services seeds a month of synthetic transactions through the
 * materializer's commit (in-process event source) and the nightly user_txn_stats rows, so the example's
 * feature service answers with values at once, online and point-in-time. Expected values are recomputed
 * here from the generator's own output (same seed, same end instant, both in the demo.seeded log line).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_DEMO_SHAPE, generateTransactions } from '../../src/demo/transactions.ts';
import type { DemoTransaction } from '../../src/demo/transactions.ts';
import { nightlyUserStats } from '../../src/demo/user-stats.ts';
import type { UserTxnStatsRow } from '../../src/demo/user-stats.ts';
import { floorHop } from '../../src/features/windows.ts';
import { embeddedEnv, postGraphQL } from '../helpers/cli.ts';
import { ROOT } from '../helpers/paths.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const AMOUNT = 130;

type LogEntry = Record<string, unknown>;

interface Served {
  readonly base: string;
  /** Every JSON log line up to and including "listening". */
  readonly logs: readonly LogEntry[];
  stop(): Promise<number | null>;
}

/** `skewless serve --port 0` as `npm start` runs it, keeping every log line until it listens. */
function serve(env: NodeJS.ProcessEnv): Promise<Served> {
  const child = spawn(process.execPath, [path.join(ROOT, 'src/cli/main.ts'), 'serve', '--port', '0'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let output = '';
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const logs: LogEntry[] = [];
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      output += line + '\n';
      let entry: LogEntry;
      try {
        entry = JSON.parse(line) as LogEntry;
      } catch {
        return;
      }
      logs.push(entry);
      if (entry.msg !== 'listening') return;
      resolve({
        base: String(entry.url).replace(/\/graphql$/, ''),
        logs,
        stop: () => {
          child.kill('SIGTERM');
          return exited;
        },
      });
    });
    void exited.then((code) => reject(new Error(`gateway exited with ${code} before listening:\n${output}`)));
  });
}

/** The environment of `npm start` on a machine with no services and no demo setting. */
function startEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = embeddedEnv(extra);
  for (const name of ['SKEWLESS_DEMO', 'SKEWLESS_PGLITE_DIR', 'REDIS_MODE']) if (!(name in extra)) delete env[name];
  return env;
}

const FRAUD_QUERY = `query ($entities: [JSON!]!) {
  online: onlineFeatures(service: "fraud_model_v1", entities: $entities, request: [{ amount: ${AMOUNT} }]) { columns rows statuses asOf errors { view code } }
}`;
const HISTORICAL_QUERY = `query ($entities: [JSON!]!) {
  historical: historicalFeatures(service: "fraud_model_v1", entities: $entities) { columns rows statuses }
}`;

/** The events of `list` with event_time in [floor_hop(T − window), T): what an aggregation covers at T. */
const inWindow = (list: readonly DemoTransaction[], asOf: number, windowMs: number, hopMs: number) => {
  const from = floorHop(asOf - windowMs, hopMs);
  return list.filter((t) => t.eventTime >= from && t.eventTime < asOf);
};
const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const populationStd = (xs: readonly number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
const close = (actual: unknown, expected: number, what: string) => {
  assert.equal(typeof actual, 'number', `${what}: ${String(actual)}`);
  assert.ok(Math.abs((actual as number) - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${what}: ${String(actual)}, expected ${expected}`);
};

/** One row of a frame as an object by column. */
const record = (frame: { columns: string[]; rows: unknown[][]; statuses: (string | null)[][] }, i = 0) => ({
  values: Object.fromEntries(frame.columns.map((c, j) => [c, frame.rows[i]![j]])),
  statuses: Object.fromEntries(frame.columns.map((c, j) => [c, frame.statuses[i]![j]])),
});

describe('npm start with no services: the demo', () => {
  let served: Served;
  let seeded: LogEntry;
  let transactions: DemoTransaction[];
  let stats: UserTxnStatsRow[];
  let user: string;
  let merchant: string;
  let mine: DemoTransaction[];
  let atMerchant: DemoTransaction[];

  before(async () => {
    served = await serve(startEnv());
    seeded = served.logs.find((e) => e.msg === 'demo.seeded') ?? assert.fail(`no demo.seeded line in ${JSON.stringify(served.logs)}`);
    const until = Date.parse(String(seeded.until));
    transactions = generateTransactions({ ...DEFAULT_DEMO_SHAPE, seed: Number(seeded.seed), until });
    stats = nightlyUserStats(transactions, Array.from({ length: DEFAULT_DEMO_SHAPE.users }, (_, i) => `u${i + 1}`), Date.parse(String(seeded.from)), until);
    // The card holder busiest in the last day, at the merchant they use most: every window has events.
    const lastDay = new Map<string, number>();
    for (const t of transactions) if (t.eventTime >= until - DAY) lastDay.set(t.userId, (lastDay.get(t.userId) ?? 0) + 1);
    user = [...lastDay].sort((a, b) => b[1] - a[1])[0]![0];
    mine = transactions.filter((t) => t.userId === user);
    const visits = new Map<string, number>();
    for (const t of mine) visits.set(t.merchantId, (visits.get(t.merchantId) ?? 0) + 1);
    merchant = [...visits].sort((a, b) => b[1] - a[1])[0]![0];
    atMerchant = transactions.filter((t) => t.merchantId === merchant);
  });

  after(async () => {
    assert.equal(await served.stop(), 0, 'stops cleanly on SIGTERM');
  });

  it('seeds a month of transactions before it listens, and says how many and how long it took', () => {
    const names = served.logs.map((e) => e.msg);
    assert.ok(names.indexOf('demo.seeding') < names.indexOf('demo.seeded') && names.indexOf('demo.seeded') < names.indexOf('listening'), names.join(', '));
    assert.equal(seeded.events, transactions.length);
    assert.equal(seeded.userTxnStatsRows, stats.length);
    assert.equal(typeof seeded.ms, 'number');
    assert.equal(Date.parse(String(seeded.until)) - Date.parse(String(seeded.from)), 30 * DAY);
    assert.equal(seeded.deadLetters, undefined, 'every generated event is within the default lateness and skew');
  });

  it('serves the nightly user_txn_stats row and the ratio the transform computes from it', async () => {
    const { body } = await postGraphQL(served.base, FRAUD_QUERY, { entities: [{ user_id: user, merchant_id: merchant }] });
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    const { values, statuses } = record(body.data!.online);
    const lastNight = stats.filter((r) => r.user_id === user).at(-1)!;
    assert.equal(statuses['user_txn_stats:txn_count_7d'], 'PRESENT');
    assert.equal(values['user_txn_stats:txn_count_7d'], lastNight.txn_count_7d);
    assert.equal(values['user_txn_stats:txn_amount_avg_7d'], lastNight.txn_amount_avg_7d);
    assert.equal(values['user_txn_stats:txn_amount_std_30d'], lastNight.txn_amount_std_30d);
    assert.equal(values['txn_signals:amount_to_avg_ratio'], AMOUNT / lastNight.txn_amount_avg_7d!);
  });

  it("serves the user's streaming windows online: the generated transactions in [floor_hop(T − window), T)", async () => {
    const { body } = await postGraphQL(served.base, FRAUD_QUERY, { entities: [{ user_id: user, merchant_id: merchant }] });
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    const asOf = Date.parse(body.data!.online.asOf);
    const { values, statuses } = record(body.data!.online);
    const day = inWindow(mine, asOf, DAY, HOUR);
    assert.ok(day.length > 0);
    assert.equal(statuses['user_txn_windows:tx_count_24h'], 'PRESENT');
    assert.equal(values['user_txn_windows:tx_count_24h'], day.length);
    close(values['user_txn_windows:tx_amount_24h'], day.reduce((s, t) => s + t.amount, 0), 'tx_amount_24h');
    assert.equal(values['user_txn_windows:unique_merchants_7d'], new Set(inWindow(mine, asOf, 7 * DAY, HOUR).map((t) => t.merchantId)).size);
  });

  it("serves the merchant's 30-day baseline online and the z-score the transform computes from it", async () => {
    const { body } = await postGraphQL(served.base, FRAUD_QUERY, { entities: [{ user_id: user, merchant_id: merchant }] });
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    const asOf = Date.parse(body.data!.online.asOf);
    const { values, statuses } = record(body.data!.online);
    const amounts = inWindow(atMerchant, asOf, 30 * DAY, DAY).map((t) => t.amount);
    assert.equal(statuses['merchant_baseline:avg_tx_amount'], 'PRESENT');
    close(values['merchant_baseline:avg_tx_amount'], mean(amounts), 'avg_tx_amount');
    const p95 = values['merchant_baseline:p95_tx_amount'];
    assert.ok(typeof p95 === 'number' && p95 > mean(amounts) && p95 <= Math.max(...amounts) * 1.01, `p95_tx_amount ${String(p95)}`);
    const z = values['txn_signals:amount_z_score'];
    assert.notEqual(z, null, 'amount_z_score');
    close(z, (AMOUNT - mean(amounts)) / populationStd(amounts), 'amount_z_score');
  });

  it('serves the nightly row and the ratio point-in-time, in the middle of the month', async () => {
    const asOf = Date.parse(String(seeded.until)) - 10 * DAY + 7 * HOUR + 13_457;
    const { body } = await postGraphQL(served.base, HISTORICAL_QUERY, { entities: [{ user_id: user, merchant_id: merchant, event_timestamp: asOf, amount: AMOUNT }] });
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    const { values, statuses } = record(body.data!.historical);
    const thatNight = stats.find((r) => r.user_id === user && r.event_timestamp === floorHop(asOf, DAY))!;
    assert.equal(statuses['user_txn_stats:txn_count_7d'], 'PRESENT');
    assert.equal(values['user_txn_stats:txn_count_7d'], thatNight.txn_count_7d);
    assert.equal(values['user_txn_stats:txn_amount_avg_7d'], thatNight.txn_amount_avg_7d);
    assert.equal(values['txn_signals:amount_to_avg_ratio'], thatNight.txn_amount_avg_7d === null ? null : AMOUNT / thatNight.txn_amount_avg_7d);
  });

  it('serves the windows and the baseline point-in-time, in the middle of the month', async () => {
    const asOf = Date.parse(String(seeded.until)) - 10 * DAY + 7 * HOUR + 13_457;
    const { body } = await postGraphQL(served.base, HISTORICAL_QUERY, { entities: [{ user_id: user, merchant_id: merchant, event_timestamp: asOf, amount: AMOUNT }] });
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    const { values } = record(body.data!.historical);
    const day = inWindow(mine, asOf, DAY, HOUR);
    assert.equal(values['user_txn_windows:tx_count_24h'], day.length);
    close(values['user_txn_windows:tx_amount_24h'], day.reduce((s, t) => s + t.amount, 0), 'tx_amount_24h');
    assert.equal(values['user_txn_windows:unique_merchants_7d'], new Set(inWindow(mine, asOf, 7 * DAY, HOUR).map((t) => t.merchantId)).size);
    const amounts = inWindow(atMerchant, asOf, 30 * DAY, DAY).map((t) => t.amount);
    close(values['merchant_baseline:avg_tx_amount'], mean(amounts), 'avg_tx_amount');
    close(values['txn_signals:amount_z_score'], (AMOUNT - mean(amounts)) / populationStd(amounts), 'amount_z_score');
  });
});

describe('npm start with --demo off', () => {
  it('starts with empty stores and says nothing about a demo', async () => {
    const served = await serve(startEnv({ SKEWLESS_DEMO: 'off' }));
    try {
      assert.deepEqual(served.logs.filter((e) => String(e.msg).startsWith('demo.')), []);
      const { body } = await postGraphQL(served.base, '{ user(user_id: "u1") { user_txn_stats { txn_count_7d _meta { status } } } }');
      assert.deepEqual(body.data!.user.user_txn_stats, { txn_count_7d: null, _meta: { status: 'NOT_FOUND' } });
    } finally {
      assert.equal(await served.stop(), 0);
    }
  });
});
