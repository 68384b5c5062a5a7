/** Reads Parquet bytes back for tests with hyparquet, a reader separate from the writer the export uses. */
import { parquetMetadata, parquetReadObjects } from 'hyparquet';

export interface ReadParquet {
  /** Each column: name and its physical type with its logical or converted annotation, e.g. `INT64/TIMESTAMP(UTC,MILLIS)`. */
  readonly columns: readonly (readonly [string, string])[];
  readonly rows: Record<string, unknown>[];
}

export async function readParquet(bytes: Uint8Array): Promise<ReadParquet> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const meta = parquetMetadata(file);
  const columns = meta.schema.slice(1).map((e): [string, string] => {
    const logical = e.logical_type as { type: string; isAdjustedToUTC?: boolean; unit?: string } | undefined;
    const note = logical?.type === 'TIMESTAMP' ? `TIMESTAMP(${logical.isAdjustedToUTC === true ? 'UTC' : 'local'},${logical.unit})` : (logical?.type ?? e.converted_type);
    return [e.name, note === undefined ? String(e.type) : `${String(e.type)}/${note}`];
  });
  return { columns, rows: (await parquetReadObjects({ file })) as Record<string, unknown>[] };
}
