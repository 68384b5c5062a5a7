/** What an export's rows leave behind as drift references. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { ExportReferenceCollector, REFERENCE_SAMPLE } from '../../../../src/ops/quality/capture.ts';
import type { Registry } from '../../../../src/registry/registry.ts';
import { selectFeatures } from '../../../../src/serving/selection.ts';
import { loadFixtureRegistry } from '../../../helpers/repos.ts';

describe('export references', () => {
  let registry: Registry;
  before(async () => {
    registry = await loadFixtureRegistry();
  });

  it('bins the numeric columns of stored views, not on-demand or text ones, and skips a column with too few values', () => {
    const selection = selectFeatures(registry, { features: ['stats_a:a_int', 'stats_c:c_score', 'scored:ratio', 'stats_b:b_label'] });
    const collector = new ExportReferenceCollector();
    // user_id, event_timestamp, then the four features; c_score only on every tenth row, a_int null on every fifth.
    const rows = Array.from({ length: 500 }, (_, i) => ['u', 0, i % 5 === 0 ? null : i, i % 10 === 0 ? i / 10 : null, 0.5, 'x']);
    collector.onRows(selection, 2, rows.slice(0, 200));
    collector.onRows(selection, 2, rows.slice(200));
    const { references, skipped } = collector.references(1_000, 'csv');
    assert.deepEqual(references.map((r) => [r.view, r.feature, r.origin, r.capturedAt, r.sampleCount, r.note]), [['stats_a', 'a_int', 'export', 1_000, 400, 'csv export of 500 rows, 400 values']]);
    assert.equal(references[0]!.proportions.length, 10);
    assert.deepEqual(skipped, ['stats_c:c_score'], 'fifty values are too few');
  });

  it('keeps a bounded sample of a long export', () => {
    const selection = selectFeatures(registry, { features: ['stats_c:c_score'] });
    const collector = new ExportReferenceCollector();
    const total = REFERENCE_SAMPLE + 20_000;
    for (let start = 0; start < total; start += 10_000) collector.onRows(selection, 2, Array.from({ length: 10_000 }, (_, i) => ['u', 0, start + i]));
    const [ref] = collector.references(0, 'parquet').references;
    assert.equal(ref!.sampleCount, REFERENCE_SAMPLE);
    assert.equal(ref!.note, `parquet export of ${total} rows, ${total} values (${REFERENCE_SAMPLE} sampled)`);
    // Uniform over 0…total: the deciles of the sample sit near those of the stream (within 2% of its range).
    ref!.edges.forEach((edge, i) => assert.ok(Math.abs(edge - ((i + 1) * total) / 10) < total * 0.02, `edge ${i}: ${edge}`));
  });
});
