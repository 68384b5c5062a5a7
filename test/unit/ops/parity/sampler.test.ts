/**
 * The parity sampler: one draw per request, references kept without touching the request's answer,
 * a bounded buffer whose overflow is dropped and counted, batches written off the request path.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createLogger } from '../../../../src/ops/log.ts';
import { createMetrics } from '../../../../src/ops/metrics.ts';
import type { Metrics } from '../../../../src/ops/metrics.ts';
import { ParitySampler } from '../../../../src/ops/parity/sampler.ts';
import { decodeValue } from '../../../../src/ops/parity/values.ts';
import type { Registry } from '../../../../src/registry/registry.ts';
import type { OnlineEntry, OnlineKey } from '../../../../src/stores/types.ts';
import { registryFromSdl } from '../../../helpers/repos.ts';

const T = Date.parse('2026-11-21T12:00:00.000Z');

const SDL = `type User @entity(key: ["user_id"]) { user_id: ID! }
  type Pair @entity(key: ["user_id", "shop"]) { user_id: ID! shop: Int! }
  type Stats @featureView(entity: "User", ttl: "1h") { a: Int seen: DateTime }
  type PairStats @featureView(entity: "Pair") { n: Int }
  type Tx @source(topic: "tx", timestamp: "at") { user_id: ID! at: DateTime! }
  type Windows @featureView(entity: "User", source: "Tx") { c: Int! @aggregate(fn: COUNT, window: "1h") }`;

interface Statement {
  sql: string;
  params: unknown[];
}

/** An offline store whose `query` records statements and answers as told. */
function fakeOffline(answer: () => Promise<unknown[]> = async () => []) {
  const statements: Statement[] = [];
  return { statements, query: async <R,>(sql: string, params?: readonly unknown[]) => {
    statements.push({ sql, params: [...(params ?? [])] });
    return (await answer()) as R[];
  } };
}

/** A counter's value, summed over the series matching `labels`. */
async function counted(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  assert.ok(metric, `${name} is registered`);
  const { values } = await metric.get();
  return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((sum, v) => sum + v.value, 0);
}

const key = (view: string, entityKey: string, entity = 'User', pieces = false): OnlineKey => ({ view, entity, entityKey, ...(pieces ? { pieces: true } : {}) });

describe('parity sampler', () => {
  let registry: Registry;
  before(async () => {
    registry = await registryFromSdl(SDL);
  });

  const sampler = (options: { rate?: number; bufferSize?: number; offline?: ReturnType<typeof fakeOffline>; random?: () => number; metrics?: Metrics; lines?: string[] }) =>
    new ParitySampler({
      registry,
      offline: options.offline ?? fakeOffline(),
      rate: options.rate ?? 1,
      bufferSize: options.bufferSize ?? 100,
      metrics: options.metrics ?? createMetrics({ defaults: false }),
      logger: createLogger('warn', (line) => options.lines?.push(line)),
      random: options.random,
      // Long enough that no test here sees a timed flush: each flushes when it means to.
      flushEveryMs: 60_000,
    });

  it('decides per request with one draw: never at rate 0, always at 1, by the draw in between', async () => {
    let draws = 0;
    const counting = (values: number[]) => () => (draws++, values.shift()!);
    const off = sampler({ rate: 0, random: counting([]) });
    assert.equal(off.begin(T), undefined);
    assert.equal(draws, 0, 'rate 0 does not even draw');
    const all = sampler({ rate: 1, random: counting([]) });
    assert.ok(all.begin(T) !== undefined);
    assert.equal(draws, 0, 'rate 1 does not draw either');
    const quarter = sampler({ rate: 0.25, random: counting([0.1, 0.3, 0.2499, 0.25, 0]) });
    assert.deepEqual([1, 2, 3, 4, 5].map(() => quarter.begin(T) !== undefined), [true, false, true, false, true]);
    assert.equal(draws, 5);
    await Promise.all([off.close(), all.close(), quarter.close()]);
  });

  it('refuses a rate outside [0, 1]', () => {
    assert.throws(() => sampler({ rate: 1.5 }), RangeError);
    assert.throws(() => sampler({ rate: -0.1 }), RangeError);
  });

  it('hands the read back unchanged and at once, even while the offline store never answers', async () => {
    const offline = fakeOffline(() => new Promise(() => {}));
    const s = sampler({ offline });
    const entries: OnlineEntry[] = [{ eventTs: T - 1000, createdTs: T - 900, values: { a: 1 } }, null];
    const read = s.begin(T)!.observe(async () => entries);
    const got = await read([key('stats', 'u1'), key('stats', 'u2')]);
    assert.equal(got, entries, 'the same array, not a copy');
    assert.equal(s.buffered, 2);
    assert.equal(offline.statements.length, 0, 'nothing is written on the request path');
  });

  it('samples no read that failed', async () => {
    const s = sampler({});
    const { SkewlessError } = await import('../../../../src/errors.ts');
    const failed = new SkewlessError('ONLINE_STORE_UNAVAILABLE', 'down');
    await s.begin(T)!.observe(async () => [failed, { eventTs: T, createdTs: T, values: { a: 1 } }])([key('stats', 'u1'), key('stats', 'u2')]);
    assert.equal(s.buffered, 1);
    await s.close();
  });

  it('drops and counts samples beyond the buffer, and the request still gets every value', async () => {
    const metrics = createMetrics({ defaults: false });
    const s = sampler({ bufferSize: 2, metrics, offline: fakeOffline(() => new Promise(() => {})) });
    const entries: OnlineEntry[] = [null, null, null];
    const got = await s.begin(T)!.observe(async () => entries)([key('stats', 'u1'), key('stats', 'u2'), key('stats', 'u3')]);
    assert.equal(got.length, 3);
    assert.equal(s.buffered, 2);
    assert.equal(await counted(metrics, 'skewless_parity_samples_taken_total'), 2);
    assert.equal(await counted(metrics, 'skewless_parity_samples_dropped_total', { reason: 'buffer_full' }), 1);
  });

  it('writes buffered samples in one parameterised statement: T, join keys, status and each served value', async () => {
    const metrics = createMetrics({ defaults: false });
    const offline = fakeOffline();
    const s = sampler({ metrics, offline });
    const seen = T - 10 * 60_000;
    await s.begin(T)!.observe(async () => [{ eventTs: T - 60_000, createdTs: T - 30_000, values: { a: 42, seen } }, null, { eventTs: T - 5_000, createdTs: T - 5_000, values: { n: 7 } }])([
      key('stats', 'u1'),
      key('stats', 'u2'),
      key('pair_stats', JSON.stringify(['u1', '12']), 'Pair'),
    ]);
    await s.flush();
    assert.equal(offline.statements.length, 1);
    const [{ sql, params }] = offline.statements as [Statement];
    assert.match(sql, /^insert into skewless\.parity_samples .* from unnest\(\$1::timestamptz\[\]/);
    assert.ok(!sql.includes('u1'), 'values travel as parameters, never in the SQL');
    const [times, views, keys, requests, statuses, values, eventTs, createdTs, transforms] = params as string[][];
    assert.deepEqual(times, Array(3).fill(new Date(T).toISOString()));
    assert.deepEqual(views, ['stats', 'stats', 'pair_stats']);
    assert.deepEqual(keys!.map((k) => JSON.parse(k)), [{ user_id: 'u1' }, { user_id: 'u2' }, { user_id: 'u1', shop: '12' }]);
    assert.deepEqual(requests, [null, null, null]);
    assert.deepEqual(statuses, ['PRESENT', 'NOT_FOUND', 'PRESENT']);
    // Values as served: DateTime as ISO-8601; every feature, null when nothing was served.
    assert.deepEqual(values!.map((v) => decodeValue(v)), [{ a: 42, seen: new Date(seen).toISOString() }, { a: null, seen: null }, { n: 7 }]);
    assert.deepEqual(eventTs, [new Date(T - 60_000).toISOString(), null, new Date(T - 5_000).toISOString()]);
    assert.deepEqual(createdTs, [new Date(T - 30_000).toISOString(), null, new Date(T - 5_000).toISOString()]);
    assert.deepEqual(transforms, [null, null, null]);
    assert.equal(await counted(metrics, 'skewless_parity_samples_written_total'), 3);
  });

  it('judges the value at the request instant: a row past its ttl at T is sampled EXPIRED', async () => {
    const offline = fakeOffline();
    const s = sampler({ offline });
    await s.begin(T)!.observe(async () => [{ eventTs: T - 2 * 3_600_000, createdTs: T - 2 * 3_600_000, values: { a: 1 } }])([key('stats', 'u1')]);
    await s.flush();
    const params = offline.statements[0]!.params as string[][];
    assert.deepEqual(params[4], ['EXPIRED']);
    assert.deepEqual(decodeValue(params[5]![0]!), { a: null, seen: null });
  });

  it('drops, counted as errors, values that were served as ERROR (a corrupt aggregation piece)', async () => {
    const metrics = createMetrics({ defaults: false });
    const offline = fakeOffline();
    const s = sampler({ metrics, offline });
    await s.begin(T)!.observe(async () => [{ pieces: { [`T:c:${T - 3_600_000}`]: 'not a piece' }, events: [] }, { pieces: {}, events: [] }])([key('windows', 'u1', 'User', true), key('windows', 'u2', 'User', true)]);
    await s.flush();
    assert.equal(await counted(metrics, 'skewless_parity_samples_dropped_total', { reason: 'error' }), 1);
    assert.equal(await counted(metrics, 'skewless_parity_samples_written_total'), 1);
    const params = offline.statements[0]!.params as string[][];
    assert.deepEqual(params[1], ['windows']);
    assert.deepEqual(decodeValue(params[5]![0]!), { c: 0 });
  });

  it('counts and logs a failed write, and writes the next batch', async () => {
    const metrics = createMetrics({ defaults: false });
    const lines: string[] = [];
    let fail = true;
    const offline = fakeOffline(async () => {
      if (fail) throw new Error('connection refused');
      return [];
    });
    const s = sampler({ metrics, offline, lines });
    await s.begin(T)!.observe(async () => [null, null])([key('stats', 'u1'), key('stats', 'u2')]);
    await s.flush();
    assert.equal(await counted(metrics, 'skewless_parity_samples_dropped_total', { reason: 'write_failed' }), 2);
    assert.deepEqual(lines.map((l) => [JSON.parse(l).msg, JSON.parse(l).error]), [['parity.samples_dropped', 'connection refused']]);
    fail = false;
    await s.begin(T)!.observe(async () => [null])([key('stats', 'u3')]);
    await s.flush();
    assert.equal(await counted(metrics, 'skewless_parity_samples_written_total'), 1);
  });

  it('records each on-demand row of a request once', async () => {
    const offline = fakeOffline();
    const withTransform = await registryFromSdl(`${SDL}
      input Req { amount: Float! }
      type Scored @onDemand(transform: "score", inputs: ["stats"], request: "Req") { r: Float }`, ['score']);
    const s = new ParitySampler({ registry: withTransform, offline, rate: 1, bufferSize: 10, metrics: createMetrics({ defaults: false }), flushEveryMs: 60_000 });
    const recorder = s.begin(T)!;
    const view = withTransform.view('scored');
    assert.ok(view?.kind === 'onDemand');
    const value = { status: 'PRESENT' as const, values: { r: 0.5 }, eventTs: null, error: null };
    recorder.computed(view, { user_id: 'u1' }, { amount: 2 }, value);
    recorder.computed(view, { user_id: 'u1' }, { amount: 2 }, value);
    recorder.computed(view, { user_id: 'u1' }, { amount: 3 }, value);
    await s.close();
    const params = offline.statements[0]!.params as string[][];
    assert.deepEqual(params[3]!.map((r) => decodeValue(r)), [{ amount: 2 }, { amount: 3 }]);
    assert.deepEqual(params[8]!.map((t) => JSON.parse(t)), [{ scored: view.transform.sha256 }, { scored: view.transform.sha256 }]);
  });

  it('stops sampling once closed, after writing what was left', async () => {
    const offline = fakeOffline();
    const s = sampler({ offline });
    await s.begin(T)!.observe(async () => [null])([key('stats', 'u1')]);
    await s.close();
    assert.equal(offline.statements.length, 1);
    assert.equal(s.begin(T), undefined);
  });
});
