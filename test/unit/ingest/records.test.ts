/** Records from ingest files: CSV rows by header, JSON lines, positions users can find, and the errors of a bad file. */
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, SkewlessError } from '../../../src/errors.ts';
import { csvRecords, formatFor, jsonlRecords, locate, readRecords } from '../../../src/ingest/records.ts';
import type { FileRecord } from '../../../src/ingest/records.ts';
import { FIXTURES } from '../../helpers/paths.ts';

const INGEST = path.join(FIXTURES, 'ingest');

async function collect(records: AsyncIterable<FileRecord>): Promise<FileRecord[]> {
  const out: FileRecord[] = [];
  for await (const r of records) out.push(r);
  return out;
}

/** The text as chunks of `size` bytes, so records and characters straddle chunk boundaries. */
async function* chunked(text: string, size: number): AsyncGenerator<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

describe('formatFor', () => {
  it('takes the format from the extension unless --format names one', () => {
    assert.equal(formatFor('rows.csv', undefined), 'csv');
    assert.equal(formatFor('dir.v2/ROWS.CSV', undefined), 'csv');
    assert.equal(formatFor('rows.jsonl', undefined), 'jsonl');
    assert.equal(formatFor('rows.ndjson', undefined), 'jsonl');
    assert.equal(formatFor('rows.csv', 'jsonl'), 'jsonl');
    assert.equal(formatFor('rows.txt', 'csv'), 'csv');
  });

  it('refuses an unknown extension or format, saying what to pass', () => {
    assert.throws(() => formatFor('rows.txt', undefined), (e: unknown) => e instanceof ConfigError && /pass --format csv or --format jsonl/.test(e.message));
    assert.throws(() => formatFor('rows.csv', 'parquet'), (e: unknown) => e instanceof ConfigError && /--format must be one of csv, jsonl, got "parquet"/.test(e.message));
  });
});

describe('CSV records', () => {
  it('are rows keyed by the header, numbered from the first data record, with the line each starts on', async () => {
    const records = await collect(csvRecords(chunked('user_id,a_int,note\nu1,1,"two\nlines"\nu2,,x\n', 5)));
    assert.deepEqual(records, [
      { recordNumber: 1, line: 2, row: { user_id: 'u1', a_int: '1', note: 'two\nlines' } },
      { recordNumber: 2, line: 4, row: { user_id: 'u2', a_int: '', note: 'x' } },
    ]);
  });

  it('make a record with the wrong number of fields or a malformed quote a parse error of that record only', async () => {
    const records = await collect(csvRecords(chunked('a,b\n1\n2,3,4\n"5"x,6\n7,8\n', 3)));
    assert.deepEqual(records.map((r) => [r.recordNumber, r.line, r.parseError ?? r.row]), [
      [1, 2, 'malformed CSV: 1 field, but the header has 2 columns'],
      [2, 3, 'malformed CSV: 3 fields, but the header has 2 columns'],
      [3, 4, 'malformed CSV: unexpected "x" after the closing quote of a field (a field is either wholly quoted or not at all)'],
      [4, 5, { a: '7', b: '8' }],
    ]);
  });

  it('keep a column named __proto__ as a plain cell', async () => {
    const [record] = await collect(csvRecords(chunked('__proto__,x\n1,2\n', 64)));
    assert.deepEqual(Object.keys(record!.row as object), ['__proto__', 'x']);
    assert.equal(Object.getPrototypeOf(record!.row), Object.prototype);
  });

  it('are none for a header-only file', async () => {
    assert.deepEqual(await collect(csvRecords(chunked('user_id,event_timestamp\r\n', 4))), []);
  });

  it('refuse an empty file, an unnamed column and a repeated one', async () => {
    const refused = (text: string, message: RegExp) =>
      assert.rejects(collect(csvRecords(chunked(text, 4))), (e: unknown) => e instanceof SkewlessError && e.code === 'INGEST_BAD_HEADER' && message.test(e.message));
    await refused('', /the file is empty: a CSV file starts with a header row/);
    await refused('\n\n', /the file is empty/);
    await refused('user_id,,a_int\n1,2,3\n', /header row \(line 1\): column 2 has no name/);
    await refused('\nuser_id,a_int,user_id\n', /header row \(line 2\): column "user_id" appears twice/);
    await refused('"user_id\n', /header row \(line 1\): unterminated quoted field/);
  });
});

describe('JSON-lines records', () => {
  it('are one value per line, skipping blank lines but counting them, with CRLF and no final newline', async () => {
    const text = '{"u": "é"}\r\n\r\n   \n{"u": 2, "s": "😀"}\n[1]\n{"u": 3}';
    for (const size of [1, 2, 3, 7, 1000]) {
      assert.deepEqual(await collect(jsonlRecords(chunked(text, size))), [
        { recordNumber: 1, line: 1, row: { u: 'é' } },
        { recordNumber: 2, line: 4, row: { u: 2, s: '😀' } },
        { recordNumber: 3, line: 5, row: [1] },
        { recordNumber: 4, line: 6, row: { u: 3 } },
      ], `chunks of ${size} bytes`);
    }
  });

  it('make malformed JSON a parse error of its line and go on', async () => {
    const records = await collect(jsonlRecords(chunked('{"a": 1,}\n{"a": 2}\n', 4)));
    assert.equal(records.length, 2);
    assert.equal(records[0]!.line, 1);
    assert.match(records[0]!.parseError!, /^invalid JSON: /);
    assert.deepEqual(records[1], { recordNumber: 2, line: 2, row: { a: 2 } });
  });

  it('are none for an empty file', async () => {
    assert.deepEqual(await collect(jsonlRecords(chunked('', 4))), []);
  });
});

describe('readRecords', () => {
  it('streams a fixture file and reports every byte it read', async () => {
    const file = path.join(INGEST, 'quoted.csv');
    let bytes = 0;
    const records = await collect(readRecords(file, 'csv', (n) => (bytes += n)));
    assert.equal(bytes, (await stat(file)).size);
    assert.deepEqual(records.map((r) => [r.recordNumber, r.line]), [
      [1, 2],
      [2, 4],
    ]);
    assert.equal((records[0]!.row as Record<string, string>).t_string, 'Smith, Jane said "hi"\non two lines');
    assert.equal((records[1]!.row as Record<string, string>).t_id, 'id,with,commas');
  });

  it('locates the bad records of the fixture files as users will look for them', async () => {
    const csv = await collect(readRecords(path.join(INGEST, 'bad.csv'), 'csv'));
    assert.deepEqual(csv.filter((r) => r.parseError !== undefined).map((r) => locate(r, 'csv')), ['record 5 (line 6)', 'record 7 (line 9)']);
    const jsonl = await collect(readRecords(path.join(INGEST, 'bad.jsonl'), 'jsonl'));
    assert.deepEqual(jsonl.filter((r) => r.parseError !== undefined).map((r) => locate(r, 'jsonl')), ['line 3']);
  });

  it('names the path of a file it cannot read', async () => {
    const missing = path.join(INGEST, 'no-such-file.csv');
    await assert.rejects(collect(readRecords(missing, 'csv')), (e: unknown) => e instanceof SkewlessError && e.code === 'INGEST_FILE_UNREADABLE' && e.message === `cannot read ${missing}: no such file`);
  });
});
