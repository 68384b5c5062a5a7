/**
 * `POST /historical/export?format=csv|jsonl|parquet`: the training-set export. The body is historicalFeatures'
 * arguments as JSON ({ features | service, entities | entitySql, asKnownAt }); the answer streams the same
 * rows with no row limit. Refusals come before the first byte, as JSON with a code and HTTP 400; a
 * failure mid-stream aborts the response, so a truncated file can never pass for a complete one.
 *
 * The caller needs read_offline on every view exported (or on the feature service named): a refusal is
 * HTTP 403 with code FORBIDDEN, before any row is read.
 *
 * Every export also captures a drift reference for its numeric feature columns (docs/data-quality.md),
 * stored before the response ends, unless `?reference=off`.
 */
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkSelection } from '../auth/grants.ts';
import { ANONYMOUS } from '../auth/principal.ts';
import type { RequestAuth } from '../auth/principal.ts';
import { SkewlessError } from '../errors.ts';
import type { Logger } from '../ops/log.ts';
import { ExportReferenceCollector, saveExportReferences } from '../ops/quality/capture.ts';
import type { ServingContext } from '../serving/context.ts';
import { EXPORT_FORMATS, planExport } from '../serving/historical-export.ts';
import type { ExportFormat } from '../serving/historical-export.ts';
import type { HistoricalArgs } from '../serving/historical-query.ts';
import type { Selection } from '../serving/selection.ts';

/** Largest request body accepted (inline entity rows); larger training sets belong in entitySql. */
export const MAX_EXPORT_BODY_BYTES = 64 * 1024 * 1024;

export async function handleExport(req: IncomingMessage, res: ServerResponse, context: () => ServingContext, logger: Logger, auth: RequestAuth = ANONYMOUS): Promise<void> {
  const refuse = (status: number, code: string, message: string, details?: Readonly<Record<string, unknown>>) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code, message, ...(details ?? {}) } }));
  };
  if (req.method !== 'POST') return refuse(405, 'METHOD_NOT_ALLOWED', 'POST historicalFeatures arguments as JSON');
  const query = new URL(req.url ?? '/', 'http://x').searchParams;
  const format = (query.get('format') ?? 'csv') as ExportFormat;
  if (!EXPORT_FORMATS.includes(format)) return refuse(400, 'INVALID_FORMAT', `format must be one of ${EXPORT_FORMATS.join(', ')}`);
  const reference = query.get('reference') ?? 'on';
  if (reference !== 'on' && reference !== 'off') return refuse(400, 'INVALID_REFERENCE', 'reference must be on (capture a drift reference, the default) or off');

  let args: HistoricalArgs;
  try {
    args = JSON.parse(await readBody(req)) as HistoricalArgs;
    if (args === null || typeof args !== 'object') throw new SyntaxError('not an object');
  } catch (error) {
    if (error instanceof SkewlessError) return refuse(413, error.code, error.message);
    return refuse(400, 'INVALID_JSON', `the body must be a JSON object of historicalFeatures arguments: ${error instanceof Error ? error.message : String(error)}`);
  }

  let run;
  const ctx = context();
  const collector = reference === 'on' ? new ExportReferenceCollector() : undefined;
  try {
    const authorize = (selection: Selection) => checkSelection(auth.grants, 'read_offline', selection.views, args.service);
    run = planExport(ctx, args, format, { authorize, ...(collector === undefined ? {} : { onRows: collector.onRows }) });
  } catch (error) {
    if (error instanceof SkewlessError) return refuse(error.httpStatus < 500 ? error.httpStatus : 400, error.code, error.message, error.details);
    throw error;
  }
  let started = false;
  try {
    const rows = await run({
      start: (contentType, transforms) => {
        started = true;
        res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store', ...(transforms === '' ? {} : { 'x-skewless-transforms': transforms }) });
      },
      write: async (chunk) => {
        // Backpressure: wait for the socket to drain before fetching more rows.
        if (!res.write(chunk)) await once(res, 'drain');
      },
    });
    // Before the end: a client that has the whole file can rely on its reference being stored.
    const captured = collector === undefined ? undefined : await saveExportReferences(ctx.stores.offline, collector, ctx.asOf, format).catch((error: unknown) => {
      // The training set is already delivered; only drift monitoring misses this reference.
      logger.warn('export reference not stored', { error: error instanceof Error ? error.message : String(error) });
      return undefined;
    });
    res.end();
    logger.info('export finished', { format, rows, ...(captured === undefined ? {} : { referenceFeatures: captured.saved, referenceSkipped: captured.skipped }) });
  } catch (error) {
    if (!started && error instanceof SkewlessError) return refuse(error.httpStatus < 500 ? error.httpStatus : 400, error.code, error.message, error.details);
    logger.error('export failed', { code: error instanceof SkewlessError ? error.code : 'EXPORT_FAILED', error: error instanceof Error ? error.message : String(error) });
    if (!started) return refuse(500, 'EXPORT_FAILED', 'the export failed; see the gateway log');
    res.destroy(error instanceof Error ? error : new Error(String(error)));
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_EXPORT_BODY_BYTES) {
      throw new SkewlessError('BODY_TOO_LARGE', `request body over ${MAX_EXPORT_BODY_BYTES} bytes; pass large entity sets as entitySql`, { httpStatus: 413 });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
