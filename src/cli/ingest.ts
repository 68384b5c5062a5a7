/**
 * `skewless ingest VIEW FILE`: the bulk path for loading feature rows, with the same validation and
 * semantics as the pushFeatures mutation — rows go through the same `validateRows` and `writeRows` (or,
 * with --gateway, through a running gateway's pushFeatures), and a file with any bad row writes nothing.
 *
 * All or nothing without holding the file in memory: pass 1 streams the whole file and validates every
 * row; only when every row is good does pass 2 stream it again and write it batch by batch. The arrival
 * time that stands in for a missing created_timestamp is taken once, before pass 1, so both passes (and
 * every batch) see identical rows.
 */
import { stat } from 'node:fs/promises';
import type { Config } from '../config/config.ts';
import { ConfigError, SkewlessError } from '../errors.ts';
import { Progress } from '../ingest/progress.ts';
import type { ProgressOutput } from '../ingest/progress.ts';
import { rowViewFor } from '../ingest/push.ts';
import type { PushResult } from '../ingest/push.ts';
import { formatFor, locate, readRecords, unreadable } from '../ingest/records.ts';
import type { FileRecord, IngestFormat } from '../ingest/records.ts';
import { validateRows } from '../ingest/rows.ts';
import type { FeatureRow, RowError } from '../ingest/rows.ts';
import { loadRegistry } from '../registry/load.ts';
import type { Entity, RowView } from '../registry/types.ts';
import { problemReport } from './validate.ts';
import { gatewaySink, storeSink } from '../ingest/sinks.ts';
import type { Sink } from '../ingest/sinks.ts';

/**
 * Rows per write: one INSERT and one Redis pipeline each. Below the gateway's default push limit
 * (--max-push-rows, 10,000), so --gateway works against a default gateway without tuning.
 */
export const DEFAULT_BATCH_SIZE = 5000;
/** Problems listed when a file has bad rows; the rest are only counted. */
export const MAX_LISTED_PROBLEMS = 100;

const USAGE = 'usage: skewless ingest VIEW FILE [--format csv|jsonl] [--batch-size N] [--gateway URL]';

export interface IngestOptions {
  /** VIEW and FILE, as given. */
  readonly positionals: readonly string[];
  /** --format csv|jsonl. Default: from FILE's extension (.csv; .jsonl or .ndjson). */
  readonly format?: string | undefined;
  /** --batch-size N: rows per write. Default 5000. */
  readonly batchSize?: string | undefined;
  /** --gateway URL: push through that running gateway's pushFeatures instead of the stores (with SKEWLESS_API_KEY as its bearer key when set). Default unset. */
  readonly gateway?: string | undefined;
}

export interface IngestIo {
  /** The result (stdout). */
  out(line: string): void;
  /** Problems and notes (stderr), one line or block per call. */
  err(text: string): void;
  /** Where progress goes (stderr); redrawn in place when it is a terminal. */
  readonly progress: ProgressOutput;
  /** Clock, injectable for tests. Default Date.now. */
  readonly now?: () => number;
}

interface Plan {
  readonly view: string;
  readonly file: string;
  readonly format: IngestFormat;
  readonly batchSize: number;
  readonly gateway: URL | undefined;
}

/** What validating a file's rows needs besides the rows; the same for both passes. */
interface RowCheck {
  readonly view: RowView;
  readonly entity: Entity;
  readonly format: IngestFormat;
  readonly arrivalMs: number;
}

interface Problem {
  readonly record: FileRecord;
  readonly field: string | null;
  readonly reason: string;
}

/** Exit code: 0 ingested; 1 refused or failed (bad rows, unknown view, stores); usage errors throw ConfigError (2). */
export async function ingestCommand(config: Config, options: IngestOptions, io: IngestIo): Promise<number> {
  try {
    return await runIngest(config, planIngest(config, options), io);
  } catch (error) {
    if (error instanceof SkewlessError && error.code !== 'INVALID_CONFIG') {
      io.err(`skewless ingest: ${error.message} (${error.code})`);
      return 1;
    }
    throw error;
  }
}

/** Checks the command line before anything is read or opened. */
function planIngest(config: Config, options: IngestOptions): Plan {
  const [view, file, extra] = options.positionals;
  if (view === undefined || file === undefined) throw new ConfigError(`ingest needs a view and a file to read rows from; ${USAGE}`);
  if (extra !== undefined) throw new ConfigError(`ingest: unexpected argument "${extra}"; ${USAGE}`);
  if (file === '-') {
    throw new ConfigError('ingest cannot read standard input ("-"): it reads the file twice (first to validate every row, then to write), so FILE must be a file');
  }
  const format = formatFor(file, options.format);
  const batchSize = Number(options.batchSize ?? DEFAULT_BATCH_SIZE);
  if (options.batchSize !== undefined && (!/^\d+$/.test(options.batchSize) || batchSize < 1)) {
    throw new ConfigError(`--batch-size must be a positive integer, got ${JSON.stringify(options.batchSize)}`);
  }
  let gateway: URL | undefined;
  if (options.gateway !== undefined) {
    gateway = URL.parse(options.gateway) ?? undefined;
    if (gateway === undefined || (gateway.protocol !== 'http:' && gateway.protocol !== 'https:')) {
      throw new ConfigError(`--gateway must be an http:// or https:// URL of a running gateway, got ${JSON.stringify(options.gateway)}`);
    }
    // The base URL a gateway logs (http://host:4000) names its /graphql endpoint too.
    if (gateway.pathname === '/') gateway.pathname = '/graphql';
  } else {
    requireLastingStores(config);
  }
  return { view, file, format, batchSize, gateway };
}

/**
 * The embedded stores live in this process: rows "ingested" into them would be gone when the command
 * exits, with a success message. Refuse instead, saying what to set.
 */
function requireLastingStores(config: Config): void {
  const missing: string[] = [];
  if (config.databaseUrl === undefined && config.pgliteDir === undefined) {
    missing.push('the offline store would be an in-memory PGlite: set DATABASE_URL (or --database-url) to a PostgreSQL database, or --pglite-dir DIR for an embedded store kept on disk');
  }
  if (config.redisUrl === undefined) missing.push("the online store would be this process's memory: set REDIS_URL (or --redis-url)");
  if (missing.length > 0) {
    throw new SkewlessError(
      'INGEST_NEEDS_STORES',
      `refusing to ingest into stores that vanish when the command exits: ${missing.join('; ')}. Or pass --gateway URL to push through a running gateway`,
    );
  }
}

async function runIngest(config: Config, plan: Plan, io: IngestIo): Promise<number> {
  const before = await fileStat(plan.file);
  const loaded = await loadRegistry(config);
  if (!loaded.ok) {
    io.err(`skewless ingest: the schema has problems\n${problemReport(loaded.problems)}`);
    return 1;
  }
  const view = rowViewFor(loaded.registry, plan.view);
  const entity = loaded.registry.entity(view.entity)!;
  // Opened before pass 1: an unreachable store should be reported now, not after validating a big file.
  const sink = plan.gateway === undefined ? await storeSink(config, loaded.registry, view) : await gatewaySink(plan.gateway, view, entity, process.env.SKEWLESS_API_KEY || undefined);
  try {
    io.err(`ingesting ${plan.file} (${plan.format}) into ${view.name} via ${sink.description}`);
    const check: RowCheck = { view, entity, format: plan.format, arrivalMs: (io.now ?? Date.now)() };

    const report = await validateFile(plan, check, before.size, io);
    if (report !== undefined) {
      io.err(report);
      return 1;
    }
    const after = await fileStat(plan.file);
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
      throw new SkewlessError('INGEST_FILE_CHANGED', `${plan.file} changed while it was being validated; nothing was written. Run the ingest again once the file is complete`);
    }

    const totals = await writeFile(plan, check, sink, before.size, io);
    io.out(`ingested ${totals.rows} rows into ${view.name}: ${totals.onlineWritten} online values written, ${totals.onlineKept} kept (newer already stored)`);
    return 0;
  } finally {
    await sink.close();
  }
}

async function fileStat(file: string): Promise<{ size: number; mtimeMs: number }> {
  let s;
  try {
    s = await stat(file);
  } catch (error) {
    throw unreadable(file, error);
  }
  // Not a pipe or a device either: the file is read twice.
  if (!s.isFile()) throw new SkewlessError('INGEST_FILE_UNREADABLE', `cannot read ${file}: ${s.isDirectory() ? 'it is a directory' : 'not a regular file'}`);
  return { size: s.size, mtimeMs: s.mtimeMs };
}

/** Pass 1: every row of the file checked; undefined when all are good, else the report to print. */
async function validateFile(plan: Plan, check: RowCheck, totalBytes: number, io: IngestIo): Promise<string | undefined> {
  const listed: string[] = [];
  let problems = 0;
  let badRecords = 0;
  let records = 0;
  let bytes = 0;
  const progress = new Progress(io.progress, 'validating', 'validated', totalBytes, { now: io.now });
  try {
    for await (const batch of batches(plan, (n) => (bytes += n))) {
      const found = checkBatch(check, batch).problems;
      problems += found.length;
      badRecords += new Set(found.map((p) => p.record.recordNumber)).size;
      for (const p of found.slice(0, MAX_LISTED_PROBLEMS - listed.length)) listed.push(formatProblem(p, check.format));
      records += batch.length;
      progress.update(records, bytes);
    }
  } catch (error) {
    progress.abandon();
    throw error;
  }
  progress.finish(records);
  if (problems === 0) return undefined;
  const n = (count: number, what: string) => `${count.toLocaleString('en-US')} ${what}${count === 1 ? '' : 's'}`;
  const lines = [`skewless ingest: ${plan.file} has ${n(problems, 'problem')} in ${badRecords.toLocaleString('en-US')} of ${n(records, 'record')}; nothing was written`];
  lines.push(...listed.map((line) => `  ${line}`));
  if (problems > listed.length) lines.push(`  … and ${n(problems - listed.length, 'more problem')} (only the first ${MAX_LISTED_PROBLEMS} are listed)`);
  return lines.join('\n');
}

/** Pass 2: the file again, written batch by batch; the totals of every write. */
async function writeFile(plan: Plan, check: RowCheck, sink: Sink, totalBytes: number, io: IngestIo): Promise<PushResult> {
  const totals = { view: check.view.name, rows: 0, onlineWritten: 0, onlineKept: 0 };
  let bytes = 0;
  let batchNumber = 0;
  const progress = new Progress(io.progress, 'writing', 'wrote', totalBytes, { now: io.now });
  try {
    // The next batch is read and validated while this one is written: the file and the stores overlap.
    for await (const { batch, rows, problems } of readAhead(checkedBatches(plan, check, (n) => (bytes += n)))) {
      batchNumber++;
      const span = `batch ${batchNumber} (${locate(batch[0]!, check.format)} to ${locate(batch.at(-1)!, check.format)})`;
      if (problems.length > 0) {
        // Pass 1 found every row good with the same arrival time, so only a changed file gets here.
        const first = formatProblem(problems[0]!, check.format);
        throw new SkewlessError('INGEST_FILE_CHANGED', `${plan.file} changed during the ingest: ${span} has a bad row (${first}). ${alreadyWritten(totals.rows)}`);
      }
      let result: PushResult;
      try {
        result = await sink.write(rows);
      } catch (error) {
        throw batchFailed(error, span, totals.rows, batch, check.format);
      }
      totals.rows += result.rows;
      totals.onlineWritten += result.onlineWritten;
      totals.onlineKept += result.onlineKept;
      progress.update(totals.rows, bytes);
    }
  } catch (error) {
    progress.abandon();
    throw error;
  }
  progress.finish(totals.rows);
  return totals;
}

async function* checkedBatches(plan: Plan, check: RowCheck, onBytes: (bytes: number) => void) {
  for await (const batch of batches(plan, onBytes)) yield { batch, ...checkBatch(check, batch) };
}

/**
 * Yields what `source` yields, asking it for the next item as soon as one is handed out, so the source
 * works while the consumer awaits. At most two items are alive at a time.
 */
async function* readAhead<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let pending = iterator.next();
  try {
    for (;;) {
      const next = await pending;
      if (next.done === true) return;
      pending = iterator.next();
      // Its failure is reported when it is awaited; if the consumer stops first, it is not unhandled.
      pending.catch(() => {});
      yield next.value;
    }
  } finally {
    await iterator.return?.();
  }
}

/** The file's records in batches of --batch-size: with read-ahead, at most two batches are in memory. */
async function* batches(plan: Plan, onBytes: (bytes: number) => void): AsyncGenerator<FileRecord[]> {
  let batch: FileRecord[] = [];
  for await (const record of readRecords(plan.file, plan.format, onBytes)) {
    batch.push(record);
    if (batch.length >= plan.batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** Validates a batch with the mutation's rules; unparseable records are problems of their own. */
function checkBatch(check: RowCheck, records: readonly FileRecord[]): { rows: FeatureRow[]; problems: Problem[] } {
  const parsed = records.filter((r) => r.parseError === undefined);
  const problems: Problem[] = records.flatMap((r) => (r.parseError === undefined ? [] : [{ record: r, field: null, reason: r.parseError }]));
  const result = validateRows(check.view, check.entity, parsed.map((r) => r.row), {
    arrivalMs: check.arrivalMs,
    // CSV cells are text ("12", "true", "" for null); JSON lines carry typed values, as the mutation does.
    fromText: check.format === 'csv',
    // Every problem is counted; the caller decides how many to list.
    maxErrors: Infinity,
  });
  if (!result.ok) for (const e of result.errors) problems.push({ record: parsed[e.index]!, field: e.field, reason: e.reason });
  problems.sort((a, b) => a.record.recordNumber - b.record.recordNumber);
  return { rows: result.ok ? result.rows : [], problems };
}

/** `record 3 (line 4), a_int: must be a 32-bit integer, got "x"` — formatRowError's shape, located in the file. */
function formatProblem(p: Problem, format: IngestFormat): string {
  return `${locate(p.record, format)}${p.field === null ? '' : `, ${p.field}`}: ${p.reason}`;
}

function alreadyWritten(rows: number): string {
  if (rows === 0) return 'Nothing was written';
  return `${rows} rows of the batches before it were written. Running the ingest again is safe: history gets those rows a second time, which changes no as-of answer, and online keeps the newest value`;
}

/** A failed write, with where in the file it happened and what earlier batches already wrote. */
function batchFailed(error: unknown, span: string, writtenRows: number, batch: readonly FileRecord[], format: IngestFormat): SkewlessError {
  const cause = error instanceof SkewlessError ? error : undefined;
  let reason = error instanceof Error ? error.message : String(error);
  // A gateway with another schema than --schema refuses rows by their index in the batch: say which records.
  const rowErrors = cause?.details?.rowErrors as RowError[] | undefined;
  if (cause?.code === 'INVALID_ROWS' && Array.isArray(rowErrors)) {
    const shown = rowErrors.slice(0, 20).map((e) => (batch[e.index] === undefined ? `row ${e.index}` : formatProblem({ record: batch[e.index]!, field: e.field, reason: e.reason }, format)));
    reason = `the gateway refused rows: ${shown.join('; ')}${rowErrors.length > 20 ? '; …' : ''}`;
  }
  return new SkewlessError(cause?.code ?? 'INGEST_WRITE_FAILED', `${span} failed: ${reason}. ${alreadyWritten(writtenRows)}`, {
    retriable: cause?.retriable ?? false,
    cause: error,
  });
}
