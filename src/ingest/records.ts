/**
 * Rows from a file, one record at a time, for bulk ingest: CSV with a header row of column names, or JSON
 * lines. Records are yielded as they are parsed, so a file of any size is read in constant memory.
 *
 * A record that cannot be parsed (malformed JSON, an unterminated quote, the wrong number of CSV fields)
 * is yielded with a `parseError` instead of a row: to the caller it is one more bad row, reported with the
 * others. Only problems that make the whole file unreadable (no CSV header, a bad header) throw.
 *
 * The parsers take any async iterable of chunks, so tests feed them from memory; `readRecords` is the
 * thin file adapter.
 */
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { ConfigError, SkewlessError } from '../errors.ts';
import { CsvParser } from './csv.ts';
import type { CsvRecord } from './csv.ts';

export const FORMATS = ['csv', 'jsonl'] as const;
export type IngestFormat = (typeof FORMATS)[number];

const EXTENSIONS: Readonly<Record<string, IngestFormat>> = { '.csv': 'csv', '.jsonl': 'jsonl', '.ndjson': 'jsonl' };

interface Position {
  /** 1-based number of the record among the file's data records (CSV: the header is not one). */
  readonly recordNumber: number;
  /** 1-based line the record starts on. */
  readonly line: number;
}

/** One record of a file: a row to validate (any JSON value, or CSV cells by column), or why it is none. */
export type FileRecord = (Position & { readonly row: unknown; readonly parseError?: undefined }) | (Position & { readonly row?: undefined; readonly parseError: string });

/** The format `--format` names, or else the one the file's extension implies. */
export function formatFor(file: string, explicit: string | undefined): IngestFormat {
  if (explicit !== undefined) {
    if ((FORMATS as readonly string[]).includes(explicit)) return explicit as IngestFormat;
    throw new ConfigError(`--format must be one of ${FORMATS.join(', ')}, got ${JSON.stringify(explicit)}`);
  }
  const format = EXTENSIONS[path.extname(file).toLowerCase()];
  if (format === undefined) {
    throw new ConfigError(`cannot tell the format of ${file} from its extension (.csv, .jsonl, .ndjson); pass --format csv or --format jsonl`);
  }
  return format;
}

/** Where a record is, as users find it in an editor: `record 3 (line 4)` in CSV, `line 4` in JSON lines. */
export function locate(record: Position, format: IngestFormat): string {
  return format === 'csv' ? `record ${record.recordNumber} (line ${record.line})` : `line ${record.line}`;
}

/** The records of a file, streamed; `onBytes` hears the size of each chunk read (for progress). */
export async function* readRecords(file: string, format: IngestFormat, onBytes?: (bytes: number) => void): AsyncGenerator<FileRecord> {
  yield* (format === 'csv' ? csvRecords : jsonlRecords)(readChunks(file, onBytes));
}

async function* readChunks(file: string, onBytes?: (bytes: number) => void): AsyncGenerator<Uint8Array> {
  // 256 KiB reads: few enough system calls for fast disks, small next to one batch of rows.
  const stream = createReadStream(file, { highWaterMark: 256 * 1024 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      onBytes?.(chunk.length);
      yield chunk;
    }
  } catch (error) {
    throw unreadable(file, error);
  }
}

/** The file error users see: the path and a plain reason rather than libuv's spelling. */
export function unreadable(file: string, error: unknown): SkewlessError {
  const code = (error as NodeJS.ErrnoException).code;
  const reason =
    code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : error instanceof Error ? error.message : String(error);
  return new SkewlessError('INGEST_FILE_UNREADABLE', `cannot read ${file}: ${reason}`, { cause: error });
}

/**
 * CSV records as rows keyed by the header's column names. Every cell stays text: validation reads it
 * with `fromText` (so "" is null and "12" is an Int), exactly as the header names it.
 */
export async function* csvRecords(chunks: AsyncIterable<Uint8Array | string>): AsyncGenerator<FileRecord> {
  const parser = new CsvParser();
  let header: readonly string[] | undefined;
  let count = 0;
  function* take(records: readonly CsvRecord[]): Generator<FileRecord> {
    for (const record of records) {
      if (header === undefined) {
        header = checkHeader(record);
        continue;
      }
      const at = { recordNumber: ++count, line: record.line };
      if (record.error !== undefined) yield { ...at, parseError: `malformed CSV: ${record.error}` };
      else if (record.fields.length !== header.length) {
        yield { ...at, parseError: `malformed CSV: ${record.fields.length} field${record.fields.length === 1 ? '' : 's'}, but the header has ${header.length} columns` };
      } else {
        // fromEntries defines own properties, so even a column named __proto__ stays a plain cell.
        const fields = record.fields;
        yield { ...at, row: Object.fromEntries(header.map((name, i) => [name, fields[i]])) };
      }
    }
  }
  for await (const chunk of chunks) yield* take(parser.push(chunk));
  yield* take(parser.end());
  if (header === undefined) throw new SkewlessError('INGEST_BAD_HEADER', 'the file is empty: a CSV file starts with a header row naming its columns');
}

function checkHeader(record: CsvRecord): string[] {
  const bad = (reason: string) => new SkewlessError('INGEST_BAD_HEADER', `header row (line ${record.line}): ${reason}`);
  if (record.error !== undefined) throw bad(record.error);
  const seen = new Set<string>();
  for (const [i, name] of record.fields.entries()) {
    if (name === '') throw bad(`column ${i + 1} has no name`);
    if (seen.has(name)) throw bad(`column "${name}" appears twice`);
    seen.add(name);
  }
  return record.fields;
}

/** JSON lines: one JSON value per line (each should be an object); blank lines are skipped. */
export async function* jsonlRecords(chunks: AsyncIterable<Uint8Array | string>): AsyncGenerator<FileRecord> {
  const decoder = new TextDecoder('utf-8');
  let pending = '';
  let line = 0;
  let count = 0;
  const parse = (text: string): FileRecord | undefined => {
    line++;
    // JSON's whitespace includes \r, so CRLF files need no special case here or in JSON.parse.
    if (text.trim() === '') return undefined;
    const at = { recordNumber: ++count, line };
    try {
      return { ...at, row: JSON.parse(text) as unknown };
    } catch (error) {
      return { ...at, parseError: `invalid JSON: ${error instanceof Error ? error.message : String(error)}` };
    }
  };
  for await (const chunk of chunks) {
    pending += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let nl = pending.indexOf('\n'); nl !== -1; nl = pending.indexOf('\n', start)) {
      const record = parse(pending.slice(start, nl));
      start = nl + 1;
      if (record !== undefined) yield record;
    }
    pending = pending.slice(start);
  }
  pending += decoder.decode();
  if (pending !== '') {
    const record = parse(pending);
    if (record !== undefined) yield record;
  }
}
