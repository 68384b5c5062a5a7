/**
 * Streams a training set of any size: the same rows historicalFeatures answers, as CSV, JSON lines or Parquet,
 * fetched from a cursor in batches and written with backpressure, so memory stays bounded whatever the
 * number of rows. `write` resolves when the consumer can take more.
 */
import type { ServingContext } from './context.ts';
import { computeOnDemand, entitySqlError, inputColumnsOf, outputRow, prepareHistorical, readBatch } from './historical-query.ts';
import type { HistoricalArgs, PreparedHistorical } from './historical-query.ts';
import { ParquetStream, kindOf } from './parquet-stream.ts';
import type { ParquetColumn } from './parquet-stream.ts';
import type { Selection } from './selection.ts';

export const EXPORT_FORMATS = ['csv', 'jsonl', 'parquet'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  jsonl: 'application/x-ndjson; charset=utf-8',
  parquet: 'application/vnd.apache.parquet',
};

/** Rows fetched from the database at a time. */
export const EXPORT_BATCH_ROWS = 5000;

/** Rows whose aggregation views are read together, when the export has any (see planExport). */
export const AGGREGATION_BATCH_ROWS = 50_000;

export interface ExportOptions {
  /** Rows whose aggregation views are read together. Default AGGREGATION_BATCH_ROWS. */
  readonly aggregationBatchRows?: number;
  /**
   * Sees each batch of output rows once written: `inputColumns` input columns, then one per selected
   * feature. How an export captures its drift reference (ops/quality/capture.ts).
   */
  readonly onRows?: (selection: Selection, inputColumns: number, rows: readonly (readonly unknown[])[]) => void;
  /** Sees the resolved selection before anything runs and throws to refuse it (the gateway's read_offline check). */
  readonly authorize?: (selection: Selection) => void;
}

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
export function planExport(ctx: ServingContext, args: HistoricalArgs, format: ExportFormat, options: ExportOptions = {}): (sink: ExportSink) => Promise<number> {
  const gatherRows = Math.max(1, options.aggregationBatchRows ?? AGGREGATION_BATCH_ROWS);
  const prepared = prepareHistorical(ctx, args, options.authorize);
  return async (sink) => {
    let columns: string[] | undefined;
    let encoder: RowEncoder | undefined;
    let count = 0;
    const write = async (inputs: readonly Record<string, unknown>[], joined: readonly (Record<string, unknown> | undefined)[]) => {
      const batch = await readBatch(ctx, prepared, inputs, joined);
      // Before the first byte: a bad request field in the first batch is still a clean refusal.
      const computed = await computeOnDemand(ctx, prepared, batch);
      if (columns === undefined) {
        // entitySql rows show their columns only when they arrive; inline rows are all known.
        columns = inputColumnsOf(prepared.selection, prepared.source.kind === 'rows' ? prepared.source.entities : inputs);
        sink.start(CONTENT_TYPES[format], prepared.selection.transforms.map((t) => `${t.view}=${t.transform}@${t.sha256}`).join(','));
        encoder = openEncoder(format, prepared, columns, sink);
      }
      const rows = inputs.map((_, r) => outputRow(prepared, columns!, batch, r, computed?.map((step) => step[r]!)).values);
      await encoder!.rows(rows);
      options.onRows?.(prepared.selection, columns.length, rows);
      count += inputs.length;
    };
    // Aggregation views are read for many rows at once: the more rows of one entity a read holds, the
    // fewer times its tiles are read and merged (100,000 rows at once ran 2.5 times as fast as batches of
    // 5,000, measured). Joined batches are gathered up to `gatherRows` rows, which bounds memory.
    const gather = prepared.aggregations.length > 0;
    let inputs: Record<string, unknown>[] = [];
    let joined: (Record<string, unknown> | undefined)[] = [];
    const flush = async () => {
      const [i, j] = [inputs, joined];
      [inputs, joined] = [[], []];
      await write(i, j);
    };
    const emit = async (batchInputs: readonly Record<string, unknown>[], batchJoined: readonly (Record<string, unknown> | undefined)[]) => {
      if (!gather) return write(batchInputs, batchJoined);
      for (let r = 0; r < batchInputs.length; r++) {
        inputs.push(batchInputs[r]!);
        joined.push(batchJoined[r]);
        if (inputs.length === gatherRows) await flush();
      }
    };
    await stream(ctx, prepared, emit);
    if (inputs.length > 0 || columns === undefined) await flush();
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
  const timeoutMs = ctx.limits.entitySqlTimeoutMs;
  if (prepared.aggregations.length > 0 && !readsDuringJoin(ctx)) {
    // Aggregation views are read with their own queries after each batch is joined. A store with one
    // connection (PGlite) cannot run them while the join's cursor holds it, so the join runs whole first
    // and its rows are emitted in batches: memory grows with the training set there, not on PostgreSQL.
    let joined: Record<string, unknown>[];
    if (source.kind === 'rows') joined = source.rows.length === 0 || plan.views.length === 0 ? [] : await ctx.stores.offline.asOfJoin(plan, { kind: 'rows', rows: source.rows });
    else joined = await ctx.stores.offline.asOfJoin(plan, { kind: 'sql', sql: source.sql, limit: undefined, timeoutMs }).catch((e: unknown) => entitySqlError(e, timeoutMs));
    const inputs = (source.kind === 'rows' ? source.entities : joined.map((r) => r.__row)) as Record<string, unknown>[];
    for (let start = 0; start < inputs.length; start += EXPORT_BATCH_ROWS) await emit(inputs.slice(start, start + EXPORT_BATCH_ROWS), joined.slice(start, start + EXPORT_BATCH_ROWS));
    return;
  }
  if (source.kind === 'rows') {
    if (plan.views.length === 0) {
      // Nothing to join: the rows go out in batches all the same (aggregations and transforms per batch).
      const inputs = source.entities as Record<string, unknown>[];
      for (let start = 0; start < inputs.length; start += EXPORT_BATCH_ROWS) await emit(inputs.slice(start, start + EXPORT_BATCH_ROWS), []);
      return;
    }
    let offset = 0;
    await ctx.stores.offline.asOfJoinEach(plan, { kind: 'rows', rows: source.rows }, EXPORT_BATCH_ROWS, async (rows) => {
      await emit(source.entities.slice(offset, offset + rows.length) as Record<string, unknown>[], rows);
      offset += rows.length;
    });
    return;
  }
  await ctx.stores.offline
    .asOfJoinEach(plan, { kind: 'sql', sql: source.sql, limit: undefined, timeoutMs }, EXPORT_BATCH_ROWS, (rows) => emit(rows.map((r) => r.__row as Record<string, unknown>), rows))
    .catch((e: unknown) => entitySqlError(e, timeoutMs));
}

/**
 * Whether the offline store can answer other queries while a streamed join holds a transaction open:
 * PostgreSQL (a pool of connections) can; embedded PGlite (one connection) would wait for the join, which
 * waits for the batch being emitted: a deadlock.
 */
function readsDuringJoin(ctx: ServingContext): boolean {
  return ctx.stores.offline.kind !== 'pglite';
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
