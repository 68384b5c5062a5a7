/** The streaming CSV parser: RFC 4180 records, the same whatever the chunk boundaries, malformed input reported per record. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CsvParser, parseCsv } from '../../../src/ingest/csv.ts';
import type { CsvRecord } from '../../../src/ingest/csv.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

/** Parses `input` cut into chunks at the given byte offsets. */
function parseInChunks(input: Uint8Array, cuts: readonly number[]): CsvRecord[] {
  const parser = new CsvParser();
  const out: CsvRecord[] = [];
  let from = 0;
  for (const cut of [...cuts, input.length]) {
    out.push(...parser.push(input.subarray(from, cut)));
    from = cut;
  }
  return [...out, ...parser.end()];
}

// Every feature of the format in a few lines: CRLF and LF, a quoted field holding a comma, a CRLF line
// break, an escaped quote and a multi-byte character, empty fields quoted and not, a lone CR, an empty
// line, a trailing comma and no final line break.
const TRICKY = 'id,text,n\r\n1,"a, ""b""\r\nc é",2\n2,,""\r3,"€",\n\n4,plain 😀,"x\ny"';
const TRICKY_RECORDS: CsvRecord[] = [
  { fields: ['id', 'text', 'n'], line: 1 },
  { fields: ['1', 'a, "b"\r\nc é', '2'], line: 2 },
  { fields: ['2', '', ''], line: 4 },
  { fields: ['3', '€', ''], line: 5 },
  { fields: ['4', 'plain 😀', 'x\ny'], line: 7 },
];

describe('CSV parser', () => {
  it('parses quoted commas, line breaks, escaped quotes and empty fields, with the line each record starts on', () => {
    assert.deepEqual(parseCsv(TRICKY), TRICKY_RECORDS);
  });

  it('gives the same records with a chunk boundary at every byte, including inside quotes, characters and CRLF', () => {
    const input = bytes(TRICKY);
    for (let cut = 0; cut <= input.length; cut++) {
      assert.deepEqual(parseInChunks(input, [cut]), TRICKY_RECORDS, `cut at byte ${cut}`);
    }
  });

  it('gives the same records with boundaries at every pair of positions', () => {
    const input = bytes(TRICKY);
    for (let a = 0; a <= input.length; a++) {
      for (let b = a; b <= input.length; b++) assert.deepEqual(parseInChunks(input, [a, b]), TRICKY_RECORDS, `cuts at ${a} and ${b}`);
    }
  });

  it('gives the same records fed one byte at a time', () => {
    const input = bytes(TRICKY);
    assert.deepEqual(parseInChunks(input, Array.from({ length: input.length }, (_, i) => i)), TRICKY_RECORDS);
  });

  it('does not count the \\n of a CRLF split across chunks as a second line', () => {
    const parser = new CsvParser();
    assert.deepEqual(parser.push(bytes('a,b\r')), [{ fields: ['a', 'b'], line: 1 }]);
    assert.deepEqual(parser.push(bytes('\nc,d\r')), [{ fields: ['c', 'd'], line: 2 }]);
    assert.deepEqual(parser.push(bytes('\n')), []);
    assert.deepEqual(parser.push(bytes('e,f')), []);
    assert.deepEqual(parser.end(), [{ fields: ['e', 'f'], line: 3 }]);
  });

  it('drops a UTF-8 byte-order mark', () => {
    const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...bytes('user_id,x\n1,2\n')]);
    assert.deepEqual(parseInChunks(withBom, [1]), [
      { fields: ['user_id', 'x'], line: 1 },
      { fields: ['1', '2'], line: 2 },
    ]);
  });

  it('makes no record of a trailing line break or empty lines, but keeps a line of one empty quoted field', () => {
    assert.deepEqual(parseCsv('a\n\n\r\n""\n'), [
      { fields: ['a'], line: 1 },
      { fields: [''], line: 4 },
    ]);
    assert.deepEqual(parseCsv(''), []);
  });

  it('reports an unterminated quote with the line it opened on', () => {
    assert.deepEqual(parseCsv('a,b\n1,2\n3,"never closed\n4,5\n'), [
      { fields: ['a', 'b'], line: 1 },
      { fields: ['1', '2'], line: 2 },
      { fields: ['3', 'never closed\n4,5\n'], line: 3, error: 'unterminated quoted field: the quote opened on line 3 is never closed' },
    ]);
  });

  it('reports a stray quote in a record and goes on with the next record', () => {
    const records = parseCsv('a,b"c\n"d"e,f\n"g""",h\n');
    assert.deepEqual(records.map((r) => [r.fields, r.line]), [
      [['a', 'b"c'], 1],
      [['de', 'f'], 2],
      [['g"', 'h'], 3],
    ]);
    assert.match(records[0]!.error!, /a quote inside an unquoted field/);
    assert.match(records[1]!.error!, /unexpected "e" after the closing quote/);
    assert.equal(records[2]!.error, undefined);
  });

  it('keeps the first problem of a record when it has several', () => {
    const [record] = parseCsv('a"b,"c"d\n');
    assert.match(record!.error!, /a quote inside an unquoted field/);
  });

  it('accepts strings as well as bytes', () => {
    const parser = new CsvParser();
    assert.deepEqual([...parser.push('x,"y'), ...parser.push('z"\n'), ...parser.end()], [{ fields: ['x', 'yz'], line: 1 }]);
  });
});
