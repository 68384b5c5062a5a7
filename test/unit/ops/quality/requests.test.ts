/** What a statistics request is about: windows, views and features, and the coded refusals. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { SkewlessError } from '../../../../src/errors.ts';
import { statsTargets } from '../../../../src/ops/quality/targets.ts';
import { cutWindow } from '../../../../src/ops/quality/window-sample.ts';
import { parseWindowList, requestedWindows } from '../../../../src/ops/quality/windows.ts';
import type { Registry } from '../../../../src/registry/registry.ts';
import { loadFixtureRegistry } from '../../../helpers/repos.ts';

const code = (expected: string, pattern?: RegExp) => (error: unknown) => {
  assert.ok(error instanceof SkewlessError, String(error));
  assert.equal(error.code, expected);
  if (pattern !== undefined) assert.match(error.message, pattern);
  return true;
};

describe('statistics windows', () => {
  it('parses a list of durations, keeping their spelling and order, without repeats', () => {
    assert.deepEqual(parseWindowList('24h, 1h,7d,1d'), [
      { label: '24h', ms: 86_400_000 },
      { label: '1h', ms: 3_600_000 },
      { label: '7d', ms: 604_800_000 },
    ]);
    for (const bad of ['', '1h,,7d', '0s', 'soon', '1h,-2h']) assert.equal(parseWindowList(bad), undefined, bad);
  });

  it('takes every configured window unless one is asked for, and refuses a malformed one with INVALID_WINDOW', () => {
    const configured = parseWindowList('1h,7d')!;
    assert.equal(requestedWindows(undefined, configured), configured);
    assert.deepEqual(requestedWindows('90m', configured), [{ label: '90m', ms: 5_400_000 }]);
    assert.throws(() => requestedWindows('0s', configured), code('INVALID_WINDOW'));
    assert.throws(() => requestedWindows('a week', configured), code('INVALID_WINDOW', /"a week"/));
  });

  it('cuts shorter windows from the newest items, truncated only where the read limit left some out', () => {
    // Items at 100, 90, …, 60; the limit left out an item at 50 and maybe older ones.
    const sample = { basis: 'rows' as const, times: [100, 90, 80, 70, 60], values: [['a', 'b', 'c', 'd', 'e']], cutAt: 50 };
    assert.deepEqual(cutWindow(sample, 85), { values: [['a', 'b']], truncated: false });
    assert.deepEqual(cutWindow(sample, 55), { values: [['a', 'b', 'c', 'd', 'e']], truncated: false });
    assert.deepEqual(cutWindow(sample, 50), { values: [['a', 'b', 'c', 'd', 'e']], truncated: true });
    assert.deepEqual(cutWindow({ ...sample, cutAt: null }, 0), { values: [['a', 'b', 'c', 'd', 'e']], truncated: false });
  });
});

describe('statistics targets', () => {
  let registry: Registry;
  before(async () => {
    registry = await loadFixtureRegistry();
  });

  it('covers every row and aggregation view when nothing is named, leaving on-demand views out', () => {
    const names = statsTargets(registry).map((t) => t.view.name);
    assert.deepEqual(names, registry.views.filter((v) => v.kind !== 'onDemand').map((v) => v.name));
    assert.ok(!names.includes('scored'));
  });

  it('takes one view, one feature of it, or a view:feature ref', () => {
    assert.deepEqual(statsTargets(registry, 'stats_a').map((t) => [t.view.name, t.features.map((f) => f.name)]), [['stats_a', ['a_int', 'a_float']]]);
    assert.deepEqual(statsTargets(registry, 'stats_a', 'a_float')[0]!.features.map((f) => f.ref), ['stats_a:a_float']);
    assert.deepEqual(statsTargets(registry, null, 'stats_a:a_float')[0]!.features.map((f) => f.ref), ['stats_a:a_float']);
    assert.deepEqual(statsTargets(registry, 'stats_a', 'stats_a:a_int')[0]!.features.map((f) => f.ref), ['stats_a:a_int']);
  });

  it('refuses unknown views and features with their codes and the closest name', () => {
    assert.throws(() => statsTargets(registry, 'stats_aa'), code('UNKNOWN_VIEW', /did you mean "stats_a"/));
    assert.throws(() => statsTargets(registry, 'stats_a', 'a_flaot'), code('UNKNOWN_FEATURE', /did you mean "a_float"/));
    assert.throws(() => statsTargets(registry, null, 'nope:a_int'), code('UNKNOWN_VIEW'));
  });

  it('refuses on-demand views, a bare feature without its view, and a ref of another view', () => {
    assert.throws(() => statsTargets(registry, 'scored'), code('STATS_UNAVAILABLE', /stats_a, stats_c/));
    assert.throws(() => statsTargets(registry, null, 'a_int'), code('INVALID_SELECTION'));
    assert.throws(() => statsTargets(registry, 'stats_b', 'stats_a:a_int'), code('INVALID_SELECTION'));
  });
});
