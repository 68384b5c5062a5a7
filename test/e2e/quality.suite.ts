/**
 * Data quality end to end, on given stores: rows pushed through the gateway and events committed as the
 * materializer commits them give exactly the statistics their values imply, through Query.featureStats;
 * a training-set export captures a drift reference, against which an unchanged distribution stays stable
 * and a shifted one drifts; the refresher publishes the same figures as gauges.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { normal } from '../../src/demo/random.ts';
import { commitBatch } from '../../src/materializer/commit.ts';
import { decodeMessage, topicRoutes } from '../../src/materializer/decode.ts';
import type { RawMessage } from '../../src/materializer/decode.ts';
import { createLogger } from '../../src/ops/log.ts';
import { createMetrics } from '../../src/ops/metrics.ts';
import { binOf } from '../../src/ops/quality/drift.ts';
import { featureStats } from '../../src/ops/quality/feature-stats.ts';
import { DEFAULT_QUALITY_OPTIONS } from '../../src/ops/quality/options.ts';
import { createQualityRefresher } from '../../src/ops/quality/refresher.ts';
import type { Registry } from '../../src/registry/registry.ts';
import type { Stores } from '../../src/stores/open.ts';
import { postGraphQL } from '../helpers/cli.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import type { TestGateway } from '../helpers/gateway.ts';
import { random } from '../helpers/random.ts';
import { registryFromSdl } from '../helpers/repos.ts';
import { uniqueName } from '../helpers/services.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
/** Every read's windows end here, so the figures do not depend on when the test runs. */
const END = Date.UTC(2026, 3, 1, 12, 0, 0);
const BOUNDS = { allowedLatenessMs: 365 * DAY, maxFutureSkewMs: 365 * DAY };

const STATS = `query ($v: String, $f: String, $w: String, $e: DateTime) {
  featureStats(view: $v, feature: $f, window: $w, end: $e) {
    ref feature type window from to basis truncated count nulls nullRate distinct min max mean stddev p50 p90 p99 quantiles { q value }
    drift { psi level values referenceAt referenceOrigin referenceNote referenceValues bins { lower upper reference current } }
  }
}`;

interface Stats {
  ref: string;
  feature: string;
  window: string;
  from: string;
  to: string;
  basis: string;
  truncated: boolean;
  count: number;
  nulls: number;
  nullRate: number | null;
  distinct: number | null;
  min: number | null;
  max: number | null;
  mean: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  drift: {
    psi: number | null;
    level: string | null;
    values: number;
    referenceAt: string;
    referenceOrigin: string;
    referenceValues: number;
    bins: { lower: number | null; upper: number | null; reference: number; current: number | null }[];
  } | null;
}

function sdl(id: string): string {
  return `type User @entity(key: ["user_id"]) { user_id: ID! }
    type QSrc${id} @source(topic: "${id}_tx", timestamp: "at") { user_id: ID! amount: Float! at: DateTime! }
    type QRows${id} @featureView(entity: "User", name: "${id}_rows") { score: Float level: Int tag: String }
    type QAgg${id} @featureView(entity: "User", source: "QSrc${id}", name: "${id}_agg") {
      n: Int! @aggregate(fn: COUNT, window: "1d")
      total: Float! @aggregate(fn: SUM, of: "amount", window: "1d")
    }`;
}

export function qualitySuite(name: string, openStores: () => Promise<Stores>): void {
  describe(`data quality: ${name}`, () => {
    const id = uniqueName('q');
    const rowsView = `${id}_rows`;
    const aggView = `${id}_agg`;
    let stores: Stores;
    let registry: Registry;
    let gateway: TestGateway;

    const push = async (rows: unknown[]) => {
      const { body } = await postGraphQL(gateway.base, 'mutation ($v: String!, $r: [JSON!]!) { pushFeatures(view: $v, rows: $r) { rows } }', { v: rowsView, r: rows });
      assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    };
    const stats = async (variables: Record<string, unknown>): Promise<Stats[]> => {
      const { body } = await postGraphQL(gateway.base, STATS, variables);
      assert.equal(body.errors, undefined, JSON.stringify(body.errors));
      return body.data!.featureStats as Stats[];
    };
    const one = async (feature: string, window: string, end: number): Promise<Stats> => {
      const found = await stats({ v: rowsView, f: feature, w: window, e: end });
      assert.equal(found.length, 1);
      return found[0]!;
    };
    /** `count` scores from N(mean, 10) for users of one prefix, all at time t. */
    const pushScores = async (prefix: string, seed: number, mean: number, t: number, count: number): Promise<number[]> => {
      const rnd = random(seed);
      const scores = Array.from({ length: count }, () => Math.round((mean + 10 * normal(rnd)) * 1000) / 1000);
      await push(scores.map((score, i) => ({ user_id: `${id}-${prefix}${i}`, event_timestamp: t, score })));
      return scores;
    };

    before(async () => {
      stores = await openStores();
      registry = await registryFromSdl(sdl(id));
      gateway = await startTestGateway(registry, stores);
    });
    after(async () => {
      await gateway.close();
      await Promise.all([stores.online.close(), stores.offline.close()]);
    });

    it('gives the exact null rate, min, max, mean and quantiles of the history rows in the window', async () => {
      // Ten rows in [END − 1h, END], one on each bound; one just before the window, one just after it.
      const scores = [3, null, 1, 8, 2, null, 7, 5, 4, 6];
      const tags = ['a', 'b', null, 'a', 'c', 'b', 'a', null, 'c', 'c'];
      const times = scores.map((_, i) => END - HOUR + i * (HOUR / 9));
      await push([
        ...scores.map((score, i) => ({ user_id: `${id}-r${i}`, event_timestamp: times[i], score, level: i % 3 === 0 ? null : i, tag: tags[i] })),
        { user_id: `${id}-early`, event_timestamp: END - HOUR - 1, score: 1000, level: 1000, tag: 'z' },
        { user_id: `${id}-late`, event_timestamp: END + 1, score: -1000, level: -1000, tag: 'z' },
      ]);
      assert.equal(times[9], END);

      const [score, level, tag] = await stats({ v: rowsView, w: '1h', e: END });
      const { p90, p99, quantiles: _q, stddev: _s, type: _t, feature: _f, ...fields } = score! as Stats & { quantiles: unknown; stddev: unknown; type: unknown };
      assert.deepEqual(
        fields,
        {
          ref: `${rowsView}:score`,
          window: '1h',
          from: new Date(END - HOUR).toISOString(),
          to: new Date(END).toISOString(),
          basis: 'ROWS',
          truncated: false,
          count: 10,
          nulls: 2,
          nullRate: 0.2,
          distinct: null,
          min: 1,
          max: 8,
          mean: 4.5,
          p50: 4.5,
          drift: null,
        },
      );
      // Between order statistics of 1…8: h = 7·0.9 = 6.3 and 7·0.99 = 6.93.
      assert.ok(Math.abs(p90! - 7.3) < 1e-12 && Math.abs(p99! - 7.93) < 1e-12, `${p90} ${p99}`);
      // Levels 1, 2, 4, 5, 7, 8 (every third row null).
      assert.deepEqual([level!.count, level!.nulls, level!.min, level!.max, level!.mean], [10, 4, 1, 8, 4.5]);
      assert.deepEqual([tag!.feature, tag!.count, tag!.nulls, tag!.distinct, tag!.mean], ['tag', 10, 2, 3, null]);

      // A window reaching 1 ms further back takes in the earlier row.
      const wider = await one('score', '3600001ms', END);
      assert.deepEqual([wider.count, wider.max, wider.mean], [11, 1000, (36 + 1000) / 9]);
    });

    it('evaluates an aggregation view for the entities active in the window, at its end', async () => {
      // User i: i + 1 events of amount 10 in the half hour before END; a user active only 3 hours earlier.
      const bodies: Record<string, unknown>[] = [];
      for (let i = 0; i < 5; i++) for (let k = 0; k <= i; k++) bodies.push({ user_id: `${id}-a${i}`, amount: 10, at: END - 30 * MIN + i * MIN + k * 1000 });
      bodies.push({ user_id: `${id}-stale`, amount: 10, at: END - 3 * HOUR }, { user_id: `${id}-stale`, amount: 10, at: END - 3 * HOUR + 1000 });
      const topic = `${id}_tx`;
      const route = topicRoutes(registry).get(topic)!;
      const messages: RawMessage[] = bodies.map((body, offset) => ({ topic, partition: 0, offset, value: JSON.stringify(body), timestampMs: body.at as number }));
      await commitBatch(registry, stores, `${id}_group`, messages, messages.map((m) => decodeMessage(registry, route, m)), BOUNDS);

      const [n, total] = await stats({ v: aggView, w: '1h', e: END });
      assert.deepEqual([n!.basis, n!.count, n!.nulls, n!.min, n!.max, n!.mean, n!.truncated], ['ENTITIES', 5, 0, 1, 5, 3, false]);
      assert.deepEqual([total!.count, total!.min, total!.max, total!.mean], [5, 10, 50, 30]);
      const [six] = await stats({ v: aggView, f: 'n', w: '6h', e: END });
      assert.deepEqual([six!.count, six!.min, six!.max, six!.mean], [6, 1, 5, 17 / 6]);

      // Capped at two entities: the two most recently active (a4, a3), and the stats say they are cut.
      const capped = await featureStats({ registry, offline: stores.offline, options: { ...DEFAULT_QUALITY_OPTIONS, maxEntities: 2 }, now: END }, { view: aggView, feature: 'n', window: '1h' });
      assert.deepEqual([capped[0]!.summary.count, capped[0]!.summary.numeric?.min, capped[0]!.summary.numeric?.max, capped[0]!.truncated], [2, 4, 5, true]);
    });

    it('caps the rows read at the newest, and says which windows the cap cut', async () => {
      const options = { ...DEFAULT_QUALITY_OPTIONS, maxRows: 4 };
      const windows = [{ label: '15m', ms: 15 * MIN }, { label: '25m', ms: 25 * MIN }, { label: '1h', ms: HOUR }];
      const [short, middle, long] = await featureStats({ registry, offline: stores.offline, options: { ...options, windows }, now: END }, { view: rowsView, feature: 'score' });
      // Rows every 400 s back from END: the newest four (END … END − 1200 s) are read, the fifth (END − 1600 s)
      // is where the limit cut. 15 minutes hold three of them, 25 minutes four, whole; the hour is cut.
      assert.deepEqual([short!.window, short!.summary.count, short!.truncated], ['15m', 3, false]);
      assert.deepEqual([middle!.window, middle!.summary.count, middle!.truncated], ['25m', 4, false]);
      assert.deepEqual([long!.window, long!.summary.count, long!.truncated], ['1h', 4, true]);
    });

    it('captures a reference when a training set is exported; the same distribution stays stable, a shifted one drifts', async () => {
      const tRef = END - 30 * HOUR;
      const reference = await pushScores('d', 11, 100, tRef, 400);
      const exportAt = async (query: string) => {
        const res = await fetch(`${gateway.base}/historical/export?format=csv${query}`, {
          method: 'POST',
          body: JSON.stringify({ features: [`${rowsView}:score`], entities: reference.map((_, i) => ({ user_id: `${id}-d${i}`, event_timestamp: tRef + MIN })) }),
        });
        assert.equal(res.status, 200, await res.clone().text());
        return (await res.text()).trim().split('\r\n').length - 1;
      };
      const before = Date.now();
      assert.equal(await exportAt(''), 400);
      const afterExport = Date.now();

      // The very rows the training set was exported from: every bin holds what it held.
      const same = await one('score', '30m', tRef + MIN);
      const drift = same.drift!;
      assert.equal(drift.referenceOrigin, 'export');
      assert.equal(drift.referenceValues, 400);
      const at = Date.parse(drift.referenceAt);
      assert.ok(at >= before && at <= afterExport, `captured at ${drift.referenceAt}`);
      assert.equal(drift.bins.length, 10);
      assert.deepEqual(drift.bins.map((b) => b.reference), new Array(10).fill(0.1));
      assert.deepEqual(drift.bins.map((b) => b.current), new Array(10).fill(0.1));
      assert.deepEqual([drift.psi, drift.level], [0, 'STABLE']);
      const edges = drift.bins.slice(0, -1).map((b) => b.upper!);
      assert.deepEqual(drift.bins.map((b) => b.lower), [null, ...edges]);

      // A fresh draw from the same distribution, two hours later.
      const fresh = await pushScores('s', 12, 100, tRef + 2 * HOUR, 400);
      const stable = (await one('score', '30m', tRef + 2 * HOUR + MIN)).drift!;
      const counts = new Array<number>(10).fill(0);
      for (const v of fresh) counts[binOf(edges, v)]!++;
      assert.deepEqual(stable.bins.map((b) => b.current), counts.map((c) => c / 400), 'the window counted into the reference bins');
      const expected = counts.reduce((sum, c) => sum + (Math.max(c / 400, 1e-4) - 0.1) * Math.log(Math.max(c / 400, 1e-4) / 0.1), 0);
      assert.ok(Math.abs(stable.psi! - expected) < 1e-12, `psi ${stable.psi} against ${expected}`);
      assert.ok(stable.psi! < 0.1, `same distribution: psi ${stable.psi}`);
      assert.equal(stable.level, 'STABLE');

      // Shifted by two and a half standard deviations.
      await pushScores('x', 13, 125, tRef + 4 * HOUR, 400);
      const shifted = (await one('score', '30m', tRef + 4 * HOUR + MIN)).drift!;
      assert.ok(shifted.psi! > 0.25, `shifted distribution: psi ${shifted.psi}`);
      assert.equal(shifted.level, 'MAJOR');

      // reference=off leaves the latest reference as it was.
      assert.equal(await exportAt('&reference=off'), 400);
      assert.equal((await one('score', '30m', tRef + MIN)).drift!.referenceAt, drift.referenceAt);
    });

    it('publishes null rate, mean and PSI as gauges from a refresh, the same figures featureStats gives', async () => {
      const metrics = createMetrics({ defaults: false });
      const windows = [{ label: '1h', ms: HOUR }];
      const refresher = createQualityRefresher({
        registry,
        offline: stores.offline,
        options: { ...DEFAULT_QUALITY_OPTIONS, windows },
        metrics,
        logger: createLogger('error', () => {}),
        intervalMs: HOUR,
        now: () => END,
      });
      await refresher.refresh();
      const { body } = await metrics.render();
      const sample = (metric: string, view: string, feature: string) => {
        const line = body.split('\n').find((l) => l.startsWith(`${metric}{view="${view}",feature="${feature}",window="1h"} `));
        return line === undefined ? undefined : Number(line.split(' ')[1]);
      };
      assert.equal(sample('skewless_feature_values', rowsView, 'score'), 10);
      assert.equal(sample('skewless_feature_null_rate', rowsView, 'score'), 0.2);
      assert.equal(sample('skewless_feature_mean', rowsView, 'score'), 4.5);
      assert.equal(sample('skewless_feature_mean', aggView, 'n'), 3);
      assert.equal(sample('skewless_feature_mean', rowsView, 'tag'), undefined, 'no mean for a String feature');
      const psi = (await one('score', '1h', END)).drift!.psi!;
      assert.ok(psi > 0.25, 'values 1…8 against a reference around 100');
      assert.equal(sample('skewless_feature_psi', rowsView, 'score'), psi);
      assert.match(body, /skewless_quality_refresh_timestamp_seconds \d/);
      await refresher.stop();
    });

    it('refuses unknown views, features and windows with coded errors', async () => {
      const codeOf = async (variables: Record<string, unknown>) => {
        const { body } = await postGraphQL(gateway.base, STATS, variables);
        // Refused: the field is null (it is nullable so that a FORBIDDEN refusal nulls it alone), with the coded error.
        assert.equal(body.data?.featureStats ?? null, null);
        return [body.errors?.[0]?.extensions?.code, body.errors?.[0]?.message];
      };
      assert.deepEqual(await codeOf({ v: `${rowsView}x` }), ['UNKNOWN_VIEW', `unknown feature view "${rowsView}x" (did you mean "${rowsView}"?)`]);
      assert.deepEqual(await codeOf({ v: rowsView, f: 'scroe' }), ['UNKNOWN_FEATURE', `view ${rowsView} has no feature "scroe" (did you mean "score"?)`]);
      assert.equal((await codeOf({ v: rowsView, w: 'a day' }))[0], 'INVALID_WINDOW');
    });
  });
}
