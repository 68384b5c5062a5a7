import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ParquetStream, inferKind, kindOf } from '../../../src/serving/parquet-stream.ts';
import { readParquet } from '../../helpers/parquet.ts';

describe('ParquetStream', () => {
  it('infers untyped columns from their values', () => {
    assert.equal(inferKind([1, 2, null]), 'INT64');
    assert.equal(inferKind([1, 2.5]), 'DOUBLE');
    assert.equal(inferKind([true, null]), 'BOOLEAN');
    assert.equal(inferKind(['a']), 'STRING');
    assert.equal(inferKind([null, undefined]), 'STRING');
    assert.equal(inferKind([1, 'a']), 'JSON');
    assert.equal(inferKind([{ a: 1 }]), 'JSON');
    assert.equal(kindOf({ scalar: 'Int', list: false, nullable: true }), 'INT32');
    assert.equal(kindOf({ scalar: 'Float', list: true, nullable: true }), 'JSON');
  });

  it('writes one row group at a time as rows arrive, and the file reads back whole', async () => {
    const chunks: Buffer[] = [];
    const stream = new ParquetStream(
      [
        { name: 'user_id', kind: 'STRING' },
        { name: 'event_timestamp', kind: 'TIMESTAMP' },
        { name: 'label', kind: undefined },
        { name: 'v:score', kind: 'DOUBLE' },
        { name: 'v:count', kind: 'INT32' },
        { name: 'v:tags', kind: 'JSON' },
      ],
      async (bytes) => void chunks.push(Buffer.from(bytes)),
      4,
    );
    const rows = Array.from({ length: 10 }, (_, i) => [`u${i}`, `2026-06-01T12:00:0${i}.000Z`, i % 3, i % 2 === 0 ? i / 4 : null, i, i === 3 ? ['a', 'b'] : null]);
    for (const r of rows) await stream.add(r);
    const writesBeforeFinish = chunks.length;
    await stream.finish();
    assert.ok(writesBeforeFinish >= 2, `row groups went out before the end (${writesBeforeFinish} writes)`);
    const read = await readParquet(Buffer.concat(chunks));
    assert.deepEqual(read.columns, [
      ['user_id', 'BYTE_ARRAY/UTF8'],
      ['event_timestamp', 'INT64/TIMESTAMP(UTC,MILLIS)'],
      ['label', 'INT64'],
      ['v:score', 'DOUBLE'],
      ['v:count', 'INT32'],
      ['v:tags', 'BYTE_ARRAY/JSON'],
    ]);
    assert.deepEqual(
      read.rows.map((r) => [r.user_id, (r.event_timestamp as Date).getTime(), Number(r.label), r['v:score'], r['v:count'], r['v:tags']]),
      rows.map((r, i) => [r[0], Date.UTC(2026, 5, 1, 12, 0, i), r[2], r[3], r[4], r[5]]),
    );
  });

  it('writes a valid empty file when no row comes', async () => {
    const chunks: Buffer[] = [];
    const stream = new ParquetStream([{ name: 'a', kind: 'DOUBLE' }], async (bytes) => void chunks.push(Buffer.from(bytes)));
    await stream.finish();
    const read = await readParquet(Buffer.concat(chunks));
    assert.deepEqual(read.columns, [['a', 'DOUBLE']]);
    assert.deepEqual(read.rows, []);
  });

  it('refuses a value of another type than its column, naming the row and column', async () => {
    const stream = new ParquetStream([{ name: 'label', kind: undefined }], async () => {}, 2);
    await stream.add([1]);
    await stream.add([2]);
    await stream.add(['three']);
    await assert.rejects(stream.finish(), (e: Error & { code?: string }) => e.code === 'EXPORT_TYPE_MISMATCH' && /row 2, column "label"/.test(e.message));
  });
});
