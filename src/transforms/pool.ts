/**
 * The sandbox: a pool of isolated-vm isolates, each with every transform compiled into it at start-up.
 * A batch (all the rows of one online request, or a chunk of a historical query) is one call into one
 * isolate; isolates run on their own threads, so batches on different isolates run in parallel.
 *
 * Failures stay with the rows that caused them. A transform that throws or returns a wrong value fails
 * that row (the runtime catches it inside the isolate). A call that runs past the CPU timeout or the
 * memory limit loses the whole isolate's work: the isolate is replaced, the row that did it is named
 * (from the runtime's progress record, or by running the batch's rows one by one after an out-of-memory
 * kill) and the batch runs again without it.
 */
import ivm from 'isolated-vm';
import { compileTransform } from './compile.ts';
import { RUNTIME_SOURCE } from './runtime.ts';
import { decodeOutput, encodeBatch } from './wire.ts';
import type { ColumnRef, WireBatch } from './wire.ts';

export interface PoolOptions {
  /** Isolates in the pool. */
  readonly size: number;
  /** Heap limit of each isolate, MB. */
  readonly memoryMb: number;
  /** CPU time one batch call may take, ms. */
  readonly timeoutMs: number;
  /** Told of every batch and every isolate replaced, for metrics (ops/transform-metrics.ts). */
  readonly observer?: PoolObserver | undefined;
}

/** What the pool reports as it works; called on the caller's thread, after the fact, never inside a batch. */
export interface PoolObserver {
  /** One batch done: its rows, its wall time in seconds, and its row errors (undefined: the call itself threw). */
  batch(plan: SandboxPlan, rows: number, seconds: number, errors: readonly RowError[] | undefined): void;
  /** An isolate was killed (timeout, memory) and replaced. */
  isolateReplaced(code: TransformErrorCode): void;
}

export const DEFAULT_POOL_OPTIONS: PoolOptions = { size: 2, memoryMb: 64, timeoutMs: 1000 };

export interface SandboxTransform {
  readonly name: string;
  readonly source: string;
  readonly path: string;
}

/** One output of a step: [name, scalar, list, nullable], as the runtime checks it. */
export type OutputSpec = readonly [string, string, boolean, boolean];

export interface PlanStep {
  readonly view: string;
  readonly transform: string;
  readonly inputs: readonly string[];
  readonly request: boolean;
  readonly outputs: readonly OutputSpec[];
}

export interface SandboxPlan {
  /** Stable per plan: isolates register each plan once. */
  readonly id: string;
  readonly steps: readonly PlanStep[];
}

export interface BatchInput {
  readonly n: number;
  readonly asOf: readonly number[];
  readonly request: Readonly<Record<string, readonly unknown[]>>;
  readonly views: Readonly<Record<string, Readonly<Record<string, readonly unknown[]>>>>;
}

/** What the runtime answers: numbers and a JSON header, or the header alone (runtime.ts describes the protocol). */
type WireOutput = [Float64Array, string] | string;

interface WireHeaderOut {
  /** Per step, per output, where its column is. */
  readonly values: readonly (readonly ColumnRef[])[];
  readonly errors: [number, number, string][];
}

export type TransformErrorCode = 'TRANSFORM_FAILED' | 'TRANSFORM_TIMEOUT' | 'TRANSFORM_OOM';

/** A row error's step when it cannot be known (the isolate died): every view of the plan failed. */
export const ALL_STEPS = -1;

export interface RowError {
  /** Index into the plan's steps, or ALL_STEPS. */
  readonly step: number;
  readonly row: number;
  readonly code: TransformErrorCode;
  readonly message: string;
}

export interface BatchOutput {
  /** Per on-demand view, per output, one value per row (null where the row failed). */
  readonly values: Record<string, Record<string, unknown[]>>;
  readonly errors: RowError[];
}

/** Batches up to this many input cells (rows × columns) run synchronously: see Sandbox.run. */
const SYNC_INPUT_CELLS = 2048;

/** How many cells of one batch may kill an isolate (timeout, memory) before the rest fail without a retry. */
const MAX_KILLS_PER_BATCH = 3;

/**
 * Calls the runtime API's method `name` once and releases the handle taken to it at once, rather than
 * leaving it to the collector (before, every plan a sandbox registered left one behind until then).
 */
async function callApi(api: ivm.Reference, name: string, args: unknown[], options?: ivm.ReferenceApplyOptions): Promise<void> {
  const method = (await api.get(name, { reference: true })) as ivm.Reference;
  try {
    await method.apply(api.derefInto(), args, options);
  } finally {
    method.release();
  }
}

class Sandbox {
  readonly isolate: ivm.Isolate;
  readonly context: ivm.Context;
  /** The runtime's run(plan, header, numbers?): see runtime.ts. */
  readonly #run: ivm.Reference;
  readonly #api: ivm.Reference<{ plan(id: string, steps: string): void }>;
  /** The runtime's { step, row } progress record (runtime.ts). */
  readonly #progress: ivm.Reference<{ step: number; row: number }>;
  readonly #plans = new Set<string>();

  private constructor(isolate: ivm.Isolate, context: ivm.Context, api: ivm.Reference, run: ivm.Reference, progress: ivm.Reference<{ step: number; row: number }>) {
    this.isolate = isolate;
    this.context = context;
    this.#api = api;
    this.#run = run;
    this.#progress = progress;
  }

  static async create(transforms: readonly SandboxTransform[], memoryMb: number): Promise<Sandbox> {
    const isolate = new ivm.Isolate({ memoryLimit: memoryMb });
    try {
      const context = await isolate.createContext();
      // The runtime's API is the script's value, held here only: no global names it (runtime.ts).
      const api = (await context.eval(RUNTIME_SOURCE, { reference: true })) as ivm.Reference;
      for (const t of transforms) {
        const compiled = compileTransform(t.source);
        if (!compiled.ok) throw new Error(`${t.path}: ${compiled.message}`);
        const module = await isolate.compileModule(compiled.js, { filename: `file:///transforms/${t.name}.js` });
        await module.instantiate(context, (specifier) => {
          throw new Error(`${t.path}: cannot import "${specifier}": a transform can import types only`);
        });
        await module.evaluate({ timeout: 1000 }).catch((error: unknown) => {
          throw new Error(`${t.path}: ${error instanceof Error ? error.message : String(error)}`);
        });
        const fn = (await module.namespace.get('default', { reference: true })) as ivm.Reference;
        try {
          await callApi(api, 'register', [t.name, fn.derefInto()]);
        } finally {
          fn.release();
        }
      }
      await callApi(api, 'seal', []);
      const run = (await api.get('run', { reference: true })) as ivm.Reference;
      const progress = (await api.get('progress', { reference: true })) as ivm.Reference<{ step: number; row: number }>;
      return new Sandbox(isolate, context, api, run, progress);
    } catch (error) {
      if (!isolate.isDisposed) isolate.dispose();
      throw error;
    }
  }

  /** `skip`: [step, row] cells not to run (they killed an isolate before). */
  async run(plan: SandboxPlan, input: WireBatch, skip: readonly (readonly [number, number])[], timeoutMs: number): Promise<{ values: BatchOutput['values']; errors: WireHeaderOut['errors'] }> {
    if (!this.#plans.has(plan.id)) {
      await callApi(this.#api, 'plan', [plan.id, JSON.stringify(plan.steps)], { timeout: timeoutMs });
      this.#plans.add(plan.id);
    }
    // Small batches (an online request) run synchronously on this thread: handing a call to the
    // isolate's thread and back costs more than the call itself. Large ones go to the isolate's thread,
    // so batches on different isolates run in parallel.
    const header = JSON.stringify({ ...input.header, skip });
    // Strings cross as they are; the numbers need copying (and are absent from a small batch).
    const [args, options]: [unknown[], ivm.ReferenceApplyOptions] =
      input.numbers === undefined
        ? [[plan.id, header], { timeout: timeoutMs, result: { copy: true } }]
        : [[plan.id, header, input.numbers], { timeout: timeoutMs, arguments: { copy: true }, result: { copy: true } }];
    const answer = (input.cells <= SYNC_INPUT_CELLS ? this.#run.applySync(undefined, args, options) : await this.#run.apply(undefined, args, options)) as WireOutput;
    const [numbers, text] = typeof answer === 'string' ? [undefined, answer] : answer;
    const out = JSON.parse(text) as WireHeaderOut;
    return { values: decodeValues(plan, out.values, numbers, input.header.n), errors: out.errors };
  }

  /** Step and row the runtime was computing when a call was stopped; undefined if the isolate is gone. */
  progress(): { step: number; row: number } | undefined {
    if (this.isolate.isDisposed) return undefined;
    try {
      // A structured-clone copy of the runtime's own record: no code of the isolate runs to read it.
      const { step, row } = this.#progress.copySync();
      return { step, row };
    } catch {
      return undefined;
    }
  }

  dispose(): void {
    if (!this.isolate.isDisposed) this.isolate.dispose();
  }
}

export class TransformPool {
  readonly options: PoolOptions;
  readonly #transforms: readonly SandboxTransform[];
  readonly #idle: Sandbox[] = [];
  readonly #waiting: ((s: Sandbox) => void)[] = [];
  #closed = false;

  private constructor(transforms: readonly SandboxTransform[], options: PoolOptions) {
    this.#transforms = transforms;
    this.options = options;
  }

  /** Compiles every transform into `size` isolates; throws (naming the file) if one does not load. */
  static async start(transforms: readonly SandboxTransform[], options: PoolOptions = DEFAULT_POOL_OPTIONS): Promise<TransformPool> {
    const pool = new TransformPool(transforms, options);
    const sandboxes = await Promise.all(Array.from({ length: Math.max(1, options.size) }, () => Sandbox.create(transforms, options.memoryMb)));
    pool.#idle.push(...sandboxes);
    return pool;
  }

  /** Runs one batch through one isolate; every row gets values or an error, whatever the transforms do. */
  async run(plan: SandboxPlan, batch: BatchInput): Promise<BatchOutput> {
    const observer = this.options.observer;
    if (observer === undefined) return this.#run(plan, batch, []);
    const started = performance.now();
    let out: BatchOutput | undefined;
    try {
      out = await this.#run(plan, batch, []);
      return out;
    } finally {
      observer.batch(plan, batch.n, (performance.now() - started) / 1000, out?.errors);
    }
  }

  /** `killed`: (step, row) cells already known to kill an isolate; the runtime skips exactly those. */
  async #run(plan: SandboxPlan, batch: BatchInput, killed: RowError[]): Promise<BatchOutput> {
    const errors = [...killed];
    // Encoded before waiting for an isolate: while they are all busy, this thread prepares the next batch.
    const input = encodeBatch(batch);
    for (;;) {
      const sandbox = await this.#acquire();
      let out;
      try {
        out = await sandbox.run(plan, input, errors.map((e) => [e.step, e.row] as const), this.options.timeoutMs);
      } catch (error) {
        const code = killCode(sandbox, error);
        if (code === undefined) {
          this.#release(sandbox);
          throw error;
        }
        // Where it was, read before the isolate goes; then a fresh isolate takes its place in the pool.
        const at = code === 'TRANSFORM_TIMEOUT' ? sandbox.progress() : undefined;
        this.#release(await this.#replace(sandbox));
        this.options.observer?.isolateReplaced(code);
        if (errors.length >= MAX_KILLS_PER_BATCH) return this.#failRest(plan, batch, errors, code, `${killMessage(code, this.options)}; the batch was abandoned after ${MAX_KILLS_PER_BATCH} such rows`);
        if (at === undefined || at.step < 0) {
          // One row: it is the one. Which step is unknown (the isolate is gone): every view of the plan.
          if (batch.n === 1) return this.#failRest(plan, batch, errors, code, killMessage(code, this.options));
          return this.#rowByRow(plan, batch, errors);
        }
        errors.push({ step: at.step, row: at.row, code, message: killMessage(code, this.options) });
        continue;
      }
      this.#release(sandbox);
      for (const [step, row, message] of out.errors) errors.push({ step, row, code: 'TRANSFORM_FAILED', message });
      return { values: out.values, errors };
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const s of this.#idle.splice(0)) s.dispose();
  }

  /**
   * Out of memory: the isolate is gone and with it the record of where. Find the rows one by one. Each
   * row found costs an isolate, so after MAX_KILLS_PER_BATCH of them the rest fail unrun, as in #run: a
   * transform that runs out of memory on every row must not cost one isolate per row of the batch.
   */
  async #rowByRow(plan: SandboxPlan, batch: BatchInput, killed: readonly RowError[]): Promise<BatchOutput> {
    const { values, errors } = emptyOutput(plan, batch);
    let kills = killed.length;
    let code: TransformErrorCode = 'TRANSFORM_OOM';
    for (let r = 0; r < batch.n; r++) {
      const known = killed.filter((e) => e.row === r);
      if (kills >= MAX_KILLS_PER_BATCH) {
        if (known.length > 0) errors.push(...known);
        else errors.push({ step: ALL_STEPS, row: r, code, message: `${killMessage(code, this.options)}; the batch was abandoned after ${MAX_KILLS_PER_BATCH} such rows` });
        continue;
      }
      const one = await this.#run(plan, sliceRow(batch, r), known.map((e) => ({ ...e, row: 0 })));
      const kill = one.errors.slice(known.length).find((e) => e.code !== 'TRANSFORM_FAILED');
      if (kill !== undefined) {
        kills++;
        code = kill.code;
      }
      for (const e of one.errors) errors.push({ ...e, row: r });
      for (const [view, cols] of Object.entries(one.values)) for (const [name, col] of Object.entries(cols)) values[view]![name]![r] = col[0];
    }
    return { values, errors };
  }

  /** Every row not already failed fails in every view with `code`: the batch is given up. */
  #failRest(plan: SandboxPlan, batch: BatchInput, killed: readonly RowError[], code: TransformErrorCode, message: string): BatchOutput {
    const { values, errors } = emptyOutput(plan, batch);
    errors.push(...killed);
    for (let r = 0; r < batch.n; r++) if (!killed.some((e) => e.row === r)) errors.push({ step: ALL_STEPS, row: r, code, message });
    return { values, errors };
  }

  async #replace(dead: Sandbox): Promise<Sandbox> {
    dead.dispose();
    return Sandbox.create(this.#transforms, this.options.memoryMb);
  }

  #acquire(): Promise<Sandbox> {
    if (this.#closed) return Promise.reject(new Error('transform pool is closed'));
    const idle = this.#idle.pop();
    if (idle !== undefined) return Promise.resolve(idle);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(sandbox: Sandbox): void {
    if (this.#closed) return sandbox.dispose();
    const next = this.#waiting.shift();
    if (next !== undefined) next(sandbox);
    else this.#idle.push(sandbox);
  }
}

function killCode(sandbox: Sandbox, error: unknown): TransformErrorCode | undefined {
  const message = error instanceof Error ? error.message : String(error);
  if (sandbox.isolate.isDisposed || /memory limit/i.test(message)) return 'TRANSFORM_OOM';
  if (/timed out/i.test(message)) return 'TRANSFORM_TIMEOUT';
  return undefined;
}

function killMessage(code: TransformErrorCode, options: PoolOptions): string {
  return code === 'TRANSFORM_TIMEOUT' ? `ran past the ${options.timeoutMs} ms CPU limit (--transform-timeout)` : `ran out of its ${options.memoryMb} MB memory limit (--transform-memory)`;
}

function emptyOutput(plan: SandboxPlan, batch: BatchInput): BatchOutput {
  const values: BatchOutput['values'] = {};
  for (const step of plan.steps) values[step.view] = Object.fromEntries(step.outputs.map(([name]) => [name, new Array<unknown>(batch.n).fill(null)]));
  return { values, errors: [] };
}

function sliceRow(batch: BatchInput, r: number): BatchInput {
  const pick = (cols: Readonly<Record<string, readonly unknown[]>>) => Object.fromEntries(Object.entries(cols).map(([k, v]) => [k, [v[r]]]));
  return { n: 1, asOf: [batch.asOf[r]!], request: pick(batch.request), views: Object.fromEntries(Object.entries(batch.views).map(([v, cols]) => [v, pick(cols)])) };
}

function decodeValues(plan: SandboxPlan, refs: WireHeaderOut['values'], numbers: Float64Array | undefined, n: number): BatchOutput['values'] {
  const values: BatchOutput['values'] = {};
  plan.steps.forEach((step, s) => {
    const cols: Record<string, unknown[]> = {};
    step.outputs.forEach((spec, o) => (cols[spec[0]] = decodeOutput(spec, refs[s]![o]!, numbers, n)));
    values[step.view] = cols;
  });
  return values;
}
