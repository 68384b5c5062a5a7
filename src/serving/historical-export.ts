/**
 * Streams a training set of any size: the same rows historicalFeatures answers, as CSV or JSON lines,
 * fetched from a cursor in batches and written with backpressure, so memory stays bounded whatever the
 * number of rows. `write` resolves when the consumer can take more.
 */
import type { ServingContext } from './context.ts';
import { entitySqlError, inputColumnsOf, outputRow, prepareHistorical } from './historical-query.ts';
import type { HistoricalArgs, PreparedHistorical } from './historical-query.ts';

export const EXPORT_FORMATS = ['csv', 'jsonl'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Rows fetched from the database at a time. */
export const EXPORT_BATCH_ROWS = 5000;

export interface ExportSink {
  /** Called once, before the first row: the response can still become an error until then. */
  start(contentType: string): void;
  write(chunk: string): Promise<void>;
}

/** Checks the request (throws coded errors before anything is written); returns the streaming step. */
export function planExport(ctx: ServingContext, args: HistoricalArgs, format: ExportFormat): (sink: ExportSink) => Promise<number> {
  const prepared = prepareHistorical(ctx, args);
  return async (sink) => {
    const encode = format === 'csv' ? csvLine : jsonLine;
    let columns: string[] | undefined;
    let count = 0;
    const emit = async (inputs: readonly Record<string, unknown>[], joined: readonly (Record<string, unknown> | undefined)[]) => {
      if (columns === undefined) {
        // entitySql rows show their columns only when they arrive; inline rows are all known.
        columns = inputColumnsOf(prepared.selection, prepared.source.kind === 'rows' ? prepared.source.entities : inputs);
        sink.start(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
        if (format === 'csv') await sink.write(csvLine([...columns, ...prepared.selection.columns.map((c) => c.ref)]));
      }
      const header = [...columns, ...prepared.selection.columns.map((c) => c.ref)];
      let text = '';
      inputs.forEach((input, r) => (text += encode(outputRow(prepared, columns!, input, joined[r]).values, header)));
      count += inputs.length;
      await sink.write(text);
    };
    await stream(ctx, prepared, emit);
    if (columns === undefined) await emit([], []);
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
