import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BinaryCopyWriter } from '../../../src/stores/sql/copy-binary.ts';

/** The bytes after the 19-byte header and before the 2-byte end marker, as hex. */
function body(writer: BinaryCopyWriter): string {
  const data = writer.finish();
  assert.equal(data.subarray(0, 19).toString('hex'), '5047434f50590aff0d0a00' + '00000000' + '00000000');
  assert.equal(data.subarray(-2).toString('hex'), 'ffff');
  return data.subarray(19, -2).toString('hex');
}

describe('BinaryCopyWriter', () => {
  it('writes the header, each field with its length, NULL as -1, and the end marker', () => {
    assert.equal(body(new BinaryCopyWriter()), '');
    assert.equal(body(new BinaryCopyWriter().row(2).null().text('é')), '0002' + 'ffffffff' + '00000002c3a9');
  });

  it('writes integers big-endian in two’s complement, int64 from any safe integer', () => {
    assert.equal(body(new BinaryCopyWriter().row(1).int32(-2)), '0001' + '00000004fffffffe');
    assert.equal(body(new BinaryCopyWriter().row(1).int64(2 ** 40 + 5)), '0001' + '00000008' + '0000010000000005');
    assert.equal(body(new BinaryCopyWriter().row(1).int64(-(2 ** 33) - 1)), '0001' + '00000008' + 'fffffffdffffffff');
    assert.equal(body(new BinaryCopyWriter().row(1).int64(Number.MIN_SAFE_INTEGER)), '0001' + '00000008' + 'ffe0000000000001');
    assert.throws(() => new BinaryCopyWriter().int32(2 ** 31), RangeError);
    assert.throws(() => new BinaryCopyWriter().int64(2 ** 53), RangeError);
  });

  it('writes timestamps as microseconds from 2000-01-01 UTC, before and after it and beyond the safe integers', () => {
    const micros = (ms: number) => body(new BinaryCopyWriter().row(1).timestampMs(ms)).slice(4 + 8);
    assert.equal(micros(Date.UTC(2000, 0, 1)), '0000000000000000');
    assert.equal(micros(Date.UTC(2000, 0, 1, 0, 0, 0, 1)), '00000000000003e8');
    assert.equal(micros(Date.UTC(1999, 11, 31, 23, 59, 59, 999)), 'fffffffffffffc18');
    const far = Date.UTC(9999, 11, 31);
    assert.equal(BigInt.asIntN(64, BigInt(`0x${micros(far)}`)), BigInt(far - Date.UTC(2000, 0, 1)) * 1000n);
    assert.throws(() => new BinaryCopyWriter().timestampMs(1.5), RangeError);
  });

  it('writes floats, booleans and jsonb (version byte 1 before the text)', () => {
    assert.equal(body(new BinaryCopyWriter().row(3).float64(0.1).boolean(true).jsonb('[1]')), '0003' + '00000008' + '3fb999999999999a' + '0000000101' + '00000004' + '01' + '5b315d');
  });

  it('grows past its first buffer without losing what it wrote', () => {
    const writer = new BinaryCopyWriter(1);
    const long = 'ü'.repeat(1000);
    writer.row(2).text(long).text('end');
    const hex = body(writer);
    assert.equal(hex, '0002' + '000007d0' + Buffer.from(long).toString('hex') + '00000003' + Buffer.from('end').toString('hex'));
  });
});
