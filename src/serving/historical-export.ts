/**
 * Streams a training set of any size: the same rows historicalFeatures answers, as CSV, JSON lines or Parquet,
 * fetched from a cursor in batches and written with backpressure, so memory stays bounded whatever the
 * number of rows. `write` resolves when the consumer can take more.
 */
import type { ServingContext } from './context.ts';
import { computeOnDemand, entitySqlError, inputColumnsOf, outputRow, prepareHistorical } from './historical-query.ts';
import type { HistoricalArgs, PreparedHistorical } from './historical-query.ts';
import { ParquetStream, kindOf } from './parquet-stream.ts';
import type { ParquetColumn } from './parquet-stream.ts';

export const EXPORT_FORMATS = ['csv', 'jsonl', 'parquet'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  jsonl: 'application/x-ndjson; charset=utf-8',
  parquet: 'application/vnd.apache.parquet',
};

/** Rows fetched from the database at a time. */
export const EXPORT_BATCH_ROWS = 5000;

export interface ExportSink {
  /**
   * Called once, before the first row: the response can still become an error until then. `transforms`
   * names the code behind the on-demand columns (`view=transform@sha256`, comma-separated), for a header.
   */
  start(contentType: string, transforms: string): void;
  write(chunk: string | Uint8Array): Promise<void>;
}

/** Turns output rows into the format's bytes: a header (if any) at open, a footer (if any) at end. */
interface RowEncoder {
  rows(batch: readonly (readonly unknown[])[]): Promise<void>;
  end(): Promise<void>;
}

function openEncoder(format: ExportFormat, prepared: PreparedHistorical, inputColumns: readonly string[], sink: ExportSink): RowEncoder {
  const header = [...inputColumns, ...prepared.selection.columns.map((c) => c.ref)];
  if (format === 'parquet') {
    const keys = new Set(prepared.selection.joinKeys);
    const columns: ParquetColumn[] = [
      ...inputColumns.map((name) => ({ name, kind: keys.has(name) ? ('STRING' as const) : name === 'event_timestamp' ? ('TIMESTAMP' as const) : undefined })),
      ...prepared.selection.columns.map((c) => ({ name: c.ref, kind: kindOf(c.feature.type) })),
    ];
    const parquet = new ParquetStream(columns, (bytes) => sink.write(bytes));
    return {
      rows: async (batch) => {
        for (const values of batch) await parquet.add(values as unknown[]);
      },
      end: () => parquet.finish(),
    };
  }
  const line = format === 'csv' ? csvLine : (values: readonly unknown[]) => jsonLine(values, header);
  let started = false;
  return {
    rows: async (batch) => {
      let text = started || format !== 'csv' ? '' : csvLine(header);
      started = true;
      for (const values of batch) text += line(values);
      await sink.write(text);
    },
    end: async () => {
      if (!started && format === 'csv') await sink.write(csvLine(header));
    },
  };
}

/** Checks the request (throws coded errors before anything is written); returns the streaming step. */
export function planExport(ctx: ServingContext, args: HistoricalArgs, format: ExportFormat): (sink: ExportSink) => Promise<number> {
  const prepared = prepareHistorical(ctx, args);
  return async (sink) => {
    let columns: string[] | undefined;
    let encoder: RowEncoder | undefined;
    let count = 0;
    const emit = async (inputs: readonly Record<string, unknown>[], joined: readonly (Record<string, unknown> | undefined)[]) => {
      // Before the first byte: a bad request field in the first batch is still a clean refusal.
      const computed = await computeOnDemand(ctx, prepared, inputs, joined);
      if (columns === undefined) {
        // entitySql rows show their columns only when they arrive; inline rows are all known.
        columns = inputColumnsOf(prepared.selection, prepared.source.kind === 'rows' ? prepared.source.entities : inputs);
        sink.start(CONTENT_TYPES[format], prepared.selection.transforms.map((t) => `${t.view}=${t.transform}@${t.sha256}`).join(','));
        encoder = openEncoder(format, prepared, columns, sink);
      }
      await encoder!.rows(inputs.map((input, r) => outputRow(prepared, columns!, input, joined[r], computed?.map((step) => step[r]!)).values));
      count += inputs.length;
    };
    await stream(ctx, prepared, emit);
    if (columns === undefined) await emit([], []);
    await encoder!.end();
    return count;
  };
}

async function stream(
  ctx: ServingContext,
  prepared: PreparedHistorical,
  emit: (inputs: readonly Record<string, unknown>[], joined: readonly (Record<string, unknown> | undefined)[]) => Promise<void>,
): Promise<void> {
  const { plan, source } = prepared;
  if (source.kind === 'rows') {
    if (plan.views.length === 0) {
      await emit(source.entities as Record<string, unknown>[], []);
      return;
    }
    let offset = 0;
    await ctx.stores.offline.asOfJoinEach(plan, { kind: 'rows', rows: source.rows }, EXPORT_BATCH_ROWS, async (rows) => {
      await emit(source.entities.slice(offset, offset + rows.length) as Record<string, unknown>[], rows);
      offset += rows.length;
    });
    return;
  }
  const timeoutMs = ctx.limits.entitySqlTimeoutMs;
  await ctx.stores.offline
    .asOfJoinEach(plan, { kind: 'sql', sql: source.sql, limit: undefined, timeoutMs }, EXPORT_BATCH_ROWS, (rows) => emit(rows.map((r) => r.__row as Record<string, unknown>), rows))
    .catch((e: unknown) => entitySqlError(e, timeoutMs));
}

/** RFC 4180: fields with a comma, quote or line break are quoted; null is empty; lists and objects are JSON. */
export function csvLine(values: readonly unknown[]): string {
  return (
    values
      .map((v) => {
        if (v === null || v === undefined) return '';
        const text = typeof v === 'object' ? JSON.stringify(v) : String(v);
        return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
      })
      .join(',') + '\r\n'
  );
}

function jsonLine(values: readonly unknown[], columns: readonly string[]): string {
  const row: Record<string, unknown> = {};
  columns.forEach((c, i) => (row[c] = values[i] ?? null));
  return JSON.stringify(row) + '\n';
}
