/**
 * What the transform sandbox costs: the latency it adds to a request of 1 and 100 rows, next to calling
 * the same function natively in Node on the same rows, and the rows/s of historical evaluation (batches
 * spread over the pool's isolates). The transform is `score` from the serving test repository: a
 * division, a multiply-add and pass-throughs over two input views and a request.
 */
import path from 'node:path';
import { loadRegistry } from '../src/registry/load.ts';
import type { OnDemandView } from '../src/registry/types.ts';
import { TRANSFORM_BATCH_ROWS, evaluateOnDemand, requestColumns } from '../src/transforms/evaluate.ts';
import type { TransformRows } from '../src/transforms/evaluate.ts';
import { onDemandPlan } from '../src/transforms/plan.ts';
import { DEFAULT_POOL_OPTIONS } from '../src/transforms/pool.ts';
import { startTransforms } from '../src/transforms/start.ts';
import type { BenchContext, Benchmark, Section } from './benchmark.ts';
import { ROOT } from './paths.ts';
import { percentile } from './stats.ts';
import { perSecond } from './table.ts';

const REPO = path.join(ROOT, 'test/fixtures/repos/serving');

function rowsOf(n: number): TransformRows & { request: Record<string, unknown>[] } {
  const a = Array.from({ length: n }, (_, i) => (i % 10 === 0 ? null : { a_int: i, a_float: i / 3 }));
  const c = Array.from({ length: n }, (_, i) => ({ c_score: (i % 7) / 7 }));
  return {
    count: n,
    asOf: () => 1_780_000_000_000,
    input: (r, view) => (view === 'stats_a' ? a[r]! : c[r]!),
    request: Array.from({ length: n }, (_, i) => ({ amount: i * 1.5, note: null })),
  };
}

async function timeEach(times: number, fn: () => Promise<unknown> | unknown): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < times; i++) {
    const t = process.hrtime.bigint();
    await fn();
    out.push(Number(process.hrtime.bigint() - t) / 1e3);
  }
  return out.sort((x, y) => x - y);
}

export const transformsBench: Benchmark = {
  name: 'transforms',
  title: 'on-demand transforms: sandbox cost per request and historical rows/s',
  async run(ctx: BenchContext): Promise<Section[]> {
    const built = await loadRegistry({ schemaDir: path.join(REPO, 'schema'), transformsDir: path.join(REPO, 'transforms') });
    if (!built.ok) throw new Error('serving test repository does not build');
    const registry = built.registry;
    const view = registry.view('scored') as OnDemandView;
    const plan = onDemandPlan(registry, [view]);
    const pool = (await startTransforms(registry, DEFAULT_POOL_OPTIONS))!;
    // The same function, imported natively: the baseline.
    const native = ((await import(path.join(REPO, 'transforms/score.ts'))) as { default: (row: unknown) => unknown }).default;
    try {
      const latency: string[][] = [];
      for (const n of [1, 100]) {
        const rows = rowsOf(n);
        const request = requestColumns(plan, n, (r) => rows.request[r]!);
        const iterations = ctx.options.quick ? 500 : 5000;
        await timeEach(iterations, () => evaluateOnDemand(pool, plan, rows, request)); // warm-up
        const sandbox = await timeEach(iterations, () => evaluateOnDemand(pool, plan, rows, request));
        const nativeTimes = await timeEach(iterations, () => {
          const out = [];
          for (let r = 0; r < n; r++) out.push(native({ asOf: rows.asOf(r), request: rows.request[r], stats_a: rows.input(r, 'stats_a') ?? { a_int: null, a_float: null }, stats_c: rows.input(r, 'stats_c') }));
          return out;
        });
        const added = percentile(sandbox, 0.5) - percentile(nativeTimes, 0.5);
        latency.push([
          `${n} row${n === 1 ? '' : 's'}`,
          `${percentile(sandbox, 0.5).toFixed(1)} µs`,
          `${percentile(sandbox, 0.99).toFixed(1)} µs`,
          `${percentile(nativeTimes, 0.5).toFixed(2)} µs`,
          `${added.toFixed(1)} µs`,
          `${(percentile(sandbox, 0.5) / Math.max(percentile(nativeTimes, 0.5), 0.01)).toFixed(0)}×`,
          n === 1 ? (added <= 50 ? 'yes' : 'no') : '—',
        ]);
      }

      const total = ctx.options.quick ? 200_000 : 2_000_000;
      const rows = rowsOf(total);
      const request = requestColumns(plan, total, (r) => rows.request[r]!);
      await evaluateOnDemand(pool, plan, rowsOf(50_000), requestColumns(plan, 50_000, (r) => rows.request[r]!));
      ctx.log(`transforms: evaluating ${total.toLocaleString('en')} rows`);
      const started = process.hrtime.bigint();
      const values = await evaluateOnDemand(pool, plan, rows, request);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (values[0]!.length !== total || values[0]!.some((v) => v.status !== 'PRESENT')) throw new Error('historical evaluation did not compute every row');
      const nativeStarted = process.hrtime.bigint();
      for (let r = 0; r < total; r++) native({ asOf: rows.asOf(r), request: rows.request[r], stats_a: rows.input(r, 'stats_a') ?? { a_int: null, a_float: null }, stats_c: rows.input(r, 'stats_c') });
      const nativeSeconds = Number(process.hrtime.bigint() - nativeStarted) / 1e9;
      const rate = total / seconds;
      return [
        {
          title: 'Latency added per request (one sandbox call)',
          table: { columns: ['request', 'sandbox p50', 'sandbox p99', 'native p50', 'added at p50', 'ratio', '≤ 50 µs added?'], rows: latency },
          notes: [
            'Sandbox: evaluateOnDemand, the function both serving paths call: columnar marshalling of the inputs (JSON below 64 rows, number columns in a Float64Array from 64), one call into an isolate, outputs checked and decoded. Native: the same transform imported into Node and called on each row.',
          ],
        },
        {
          title: 'Historical evaluation',
          table: {
            columns: ['rows', 'seconds', 'rows/s', 'native rows/s (one thread)', 'target', 'met?'],
            rows: [[total.toLocaleString('en'), seconds.toFixed(2), perSecond(rate), perSecond(total / nativeSeconds), '≥ 1M rows/s', ctx.options.quick ? '—' : rate >= 1_000_000 ? 'yes' : 'no']],
          },
          notes: [`Batches of ${TRANSFORM_BATCH_ROWS.toLocaleString('en')} rows spread over ${DEFAULT_POOL_OPTIONS.size} isolates (--transform-pool-size), in parallel, while the gateway's thread prepares the next batch and decodes the last.`],
        },
      ];
    } finally {
      await pool.close();
    }
  },
};
