/**
 * Parquet for the training-set export, written as it streams: rows are gathered into row groups of
 * PARQUET_ROW_GROUP_ROWS, each group is encoded and handed to the sink (which waits for the client), and
 * the footer — the row groups' offsets and statistics — follows the last one. Memory holds one row group,
 * whatever the size of the export.
 *
 * Column types: features take theirs from the registry; join keys are strings; event_timestamp is a UTC
 * timestamp in milliseconds. The entity rows' other columns (labels, ids) have no declared type, so each
 * takes the type its values have in the first row group (see `inferKind`); a later value of another type
 * ends the export with an error rather than being coerced into something it is not.
 */
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { SchemaElement } from 'hyparquet';
import type { FieldType } from '../registry/types.ts';
import { toEpochMs } from '../features/time.ts';
import { SkewlessError } from '../errors.ts';

/** Rows per row group: large enough for efficient columns, small enough to bound memory (~tens of MB). */
export const PARQUET_ROW_GROUP_ROWS = 65_536;

export type ParquetKind = 'STRING' | 'DOUBLE' | 'INT64' | 'INT32' | 'BOOLEAN' | 'TIMESTAMP' | 'JSON';

export interface ParquetColumn {
  readonly name: string;
  /** Undefined: decided from the first row group's values. */
  readonly kind: ParquetKind | undefined;
}

/** The Parquet kind of a registry type. GraphQL's Int is 32-bit; lists and JSON travel as JSON text. */
export function kindOf(type: FieldType): ParquetKind {
  if (type.list) return 'JSON';
  switch (type.scalar) {
    case 'Int':
      return 'INT32';
    case 'Float':
      return 'DOUBLE';
    case 'Boolean':
      return 'BOOLEAN';
    case 'DateTime':
      return 'TIMESTAMP';
    case 'JSON':
      return 'JSON';
    case 'String':
    case 'ID':
      return 'STRING';
  }
}

/**
 * The kind of an untyped column from its values: all integers → INT64, numbers → DOUBLE, booleans →
 * BOOLEAN, strings → STRING, anything mixed or structured → JSON. A column of nulls only is STRING.
 */
export function inferKind(values: readonly unknown[]): ParquetKind {
  const seen = new Set<string>();
  let integral = true;
  for (const v of values) {
    if (v === null || v === undefined) continue;
    const t = typeof v === 'object' ? 'object' : typeof v;
    seen.add(t);
    if (t === 'number' && !Number.isSafeInteger(v)) integral = false;
  }
  if (seen.size === 0) return 'STRING';
  if (seen.size > 1) return 'JSON';
  const only = [...seen][0];
  if (only === 'number') return integral ? 'INT64' : 'DOUBLE';
  if (only === 'boolean') return 'BOOLEAN';
  if (only === 'string') return 'STRING';
  return 'JSON';
}

function schemaElement(name: string, kind: ParquetKind): SchemaElement {
  const repetition_type = 'OPTIONAL';
  switch (kind) {
    case 'STRING':
      return { name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type };
    case 'JSON':
      return { name, type: 'BYTE_ARRAY', converted_type: 'JSON', repetition_type };
    case 'TIMESTAMP':
      return { name, type: 'INT64', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' }, repetition_type };
    default:
      return { name, type: kind, repetition_type };
  }
}

/** A value as the writer wants it for its column's kind; a value that does not fit is an error. */
function encodeValue(kind: ParquetKind, value: unknown, column: string, row: number): unknown {
  if (value === null || value === undefined) return null;
  const fits = (ok: boolean, v: () => unknown) => {
    if (!ok) throw new SkewlessError('EXPORT_TYPE_MISMATCH', `parquet export: row ${row}, column "${column}" holds ${JSON.stringify(value)}, which is not ${kind} like the column's earlier values`);
    return v();
  };
  switch (kind) {
    case 'STRING':
      return fits(typeof value === 'string', () => value);
    case 'DOUBLE':
      return fits(typeof value === 'number', () => value);
    case 'INT32':
    case 'INT64':
      return fits(Number.isSafeInteger(value), () => (kind === 'INT64' ? BigInt(value as number) : value));
    case 'BOOLEAN':
      return fits(typeof value === 'boolean', () => value);
    case 'TIMESTAMP': {
      const ms = toEpochMs(value);
      return fits(ms !== undefined, () => ms);
    }
    case 'JSON':
      return value;
  }
}

/** Streams rows into a Parquet file: `add` rows, then `finish`; `write` receives the file's bytes in order. */
export class ParquetStream {
  readonly #columns: ParquetColumn[];
  readonly #write: (bytes: Uint8Array) => Promise<void>;
  readonly #groupRows: number;
  #pending: unknown[][] = [];
  #rowsDone = 0;
  #kinds: ParquetKind[] | undefined;
  #writer: ParquetWriter | undefined;
  #bytes: ByteWriter | undefined;

  constructor(columns: readonly ParquetColumn[], write: (bytes: Uint8Array) => Promise<void>, groupRows = PARQUET_ROW_GROUP_ROWS) {
    this.#columns = [...columns];
    this.#write = write;
    this.#groupRows = groupRows;
  }

  async add(values: unknown[]): Promise<void> {
    this.#pending.push(values);
    if (this.#pending.length >= this.#groupRows) await this.#flushGroup();
  }

  async finish(): Promise<void> {
    if (this.#pending.length > 0 || this.#writer === undefined) await this.#flushGroup();
    this.#writer!.finish();
    await this.#drain();
  }

  async #flushGroup(): Promise<void> {
    const rows = this.#pending;
    this.#pending = [];
    if (this.#kinds === undefined) {
      this.#kinds = this.#columns.map((c, i) => c.kind ?? inferKind(rows.map((r) => r[i])));
      this.#bytes = new ByteWriter(1 << 20);
      const schema: SchemaElement[] = [{ name: 'root', num_children: this.#columns.length }, ...this.#columns.map((c, i) => schemaElement(c.name, this.#kinds![i]!))];
      this.#writer = new ParquetWriter({ writer: this.#bytes, schema, createdBy: 'skewless' });
    }
    const kinds = this.#kinds;
    const columnData = this.#columns.map((c, i) => ({
      name: c.name,
      data: rows.map((r, k) => encodeValue(kinds[i]!, r[i], c.name, this.#rowsDone + k)),
    }));
    this.#rowsDone += rows.length;
    if (rows.length > 0) await this.#writer!.write({ columnData, rowGroupSize: rows.length });
    await this.#drain();
  }

  /** Hands what the writer has encoded so far to the sink and reuses the buffer (offsets keep counting). */
  async #drain(): Promise<void> {
    const bytes = this.#bytes!;
    if (bytes.index === 0) return;
    const chunk = Buffer.from(bytes.getBytes());
    bytes.index = 0;
    await this.#write(chunk);
  }
}
