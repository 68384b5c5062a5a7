/**
 * The overload benchmark (issue 8): does load shedding keep a gateway offered twice its capacity serving
 * what it admits at about the latency it has at capacity?
 *
 * 1. Capacity: a closed loop with as many clients as the gateway's --max-in-flight, each sending the
 *    1×50 `onlineFeatures` frame of the online benchmark back to back: the requests/s it completes, and
 *    their latency, are "at capacity" (no request waits or is shed).
 * 2. Overload: an open loop (open-loop.ts) sending the same request at twice that rate for as long again.
 *    Reported: how many were admitted (200) and shed (503 OVERLOADED), and the admitted latency next to
 *    the latency at capacity.
 *
 * The gateway runs as its own process (`skewless serve`, gateway.ts) with the limits the settings give:
 * the defaults, or what SKEWLESS_MAX_IN_FLIGHT, SKEWLESS_MAX_QUEUED and SKEWLESS_QUEUE_TIMEOUT say, passed
 * as flags so the report names what was measured. The load generator shares the machine's cores.
 */
import { resolveConfig } from '../src/config/config.ts';
import { requestLimitsOf } from '../src/graphql/limits/options.ts';
import type { RequestLimits } from '../src/graphql/limits/options.ts';
import type { BenchContext, Benchmark, Section } from './benchmark.ts';
import { CpuWindow, OTHERS } from './cpu.ts';
import { startGateway } from './gateway.ts';
import { HttpConnection, encodePost } from './http-client.ts';
import { saturate } from './load.ts';
import { PUSH_MUTATION, USERS, VIEWS, frameQuery, pushRowsFor, verifyFrame, viewName } from './online-data.ts';
import { openLoop } from './open-loop.ts';
import type { OpenLoopResult } from './open-loop.ts';
import { percentile, ratio, summarize, throughput } from './stats.ts';
import type { LatencySummary } from './stats.ts';
import { ms, percent, perSecond, times } from './table.ts';

const HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json' };
/** Client connections for the open loop: enough that admitted and shed requests in transit never run out. */
const POOL = 512;

export const overload: Benchmark = {
  name: 'overload',
  title: 'Load shedding: twice the capacity offered, admitted latency next to latency at capacity',
  run,
};

async function run(ctx: BenchContext): Promise<Section[]> {
  const quick = ctx.options.quick;
  const warmupMs = quick ? 500 : 3000;
  const durationMs = quick ? 1500 : 10_000;
  const url = await ctx.redisUrl();
  const limits = requestLimitsOf(resolveConfig({}, process.env));
  ctx.log('overload: starting the gateway');
  const gateway = await startGateway({
    args: [
      ...['--schema', 'bench/repos/online/schema', '--transforms', 'bench/repos/online/transforms'],
      ...['--max-in-flight', String(limits.maxInFlight), '--max-queued', String(limits.maxQueued), '--queue-timeout', `${limits.queueTimeoutMs}ms`],
    ],
    env: { REDIS_URL: url },
  });
  try {
    const base = new URL(gateway.base);
    await pushData(base);
    const query = frameQuery(1);
    const request = encodePost(base, '/graphql', JSON.stringify({ query }), HEADERS);
    const probe = await HttpConnection.open(base);
    const first = await probe.send(request);
    probe.close();
    if (first.status !== 200) throw new Error(`HTTP ${first.status}: ${first.body.toString().slice(0, 300)}`);
    verifyFrame(first.body.toString(), 1);

    ctx.log(`overload: capacity, ${limits.maxInFlight} clients back to back for ${durationMs} ms after ${warmupMs} ms`);
    const pids = { gateway: gateway.pid, client: process.pid };
    const capacity = await closedLoop(base, request, first.body.length, { clients: limits.maxInFlight, warmupMs, durationMs, cpu: new CpuWindow(pids) });
    const rate = 2 * capacity.perSecond;
    ctx.log(`overload: ${perSecond(capacity.perSecond)} req/s at capacity; offering ${perSecond(rate)} req/s for ${durationMs} ms`);
    const connections = await Promise.all(Array.from({ length: POOL }, () => HttpConnection.open(base)));
    const cpu = new CpuWindow(pids);
    let offered: OpenLoopResult;
    try {
      offered = await openLoop({ ratePerSecond: rate, durationMs, request, connections, onWindow: cpu });
    } finally {
      for (const c of connections) c.close();
    }
    return [report(limits, capacity, { rate, result: offered, cpu })];
  } finally {
    await gateway.stop();
  }
}

async function pushData(base: URL): Promise<void> {
  const eventTimestamp = new Date(Date.now() - 60_000).toISOString();
  for (let v = 1; v <= VIEWS; v++) {
    const res = await fetch(new URL('/graphql', base), { method: 'POST', headers: HEADERS, body: JSON.stringify({ query: PUSH_MUTATION, variables: { view: viewName(v), rows: pushRowsFor(v, eventTimestamp) } }) });
    const text = await res.text();
    if ((JSON.parse(text) as { data?: { pushFeatures?: { onlineWritten?: number } } }).data?.pushFeatures?.onlineWritten !== USERS) throw new Error(`push to ${viewName(v)} failed: ${text.slice(0, 300)}`);
  }
}

interface Capacity {
  readonly perSecond: number;
  readonly latency: LatencySummary;
  readonly cpu: CpuWindow;
}

interface Overload {
  readonly rate: number;
  readonly result: OpenLoopResult;
  readonly cpu: CpuWindow;
}

async function closedLoop(base: URL, request: Buffer, length: number, window: { clients: number; warmupMs: number; durationMs: number; cpu: CpuWindow }): Promise<Capacity> {
  const connections = await Promise.all(Array.from({ length: window.clients }, () => HttpConnection.open(base)));
  try {
    const result = await saturate(
      (i) => async () => {
        const res = await connections[i]!.send(request);
        // At capacity nothing may wait or be shed: anything but the full answer would make the baseline wrong.
        if (res.status !== 200 || res.body.length !== length) throw new Error(`at capacity: HTTP ${res.status} ${res.body.toString().slice(0, 300)}`);
      },
      { concurrency: connections.length, warmupMs: window.warmupMs, durationMs: window.durationMs, maxRequests: 2_000_000, onWindow: window.cpu },
    );
    return { perSecond: throughput(result.completed, result.elapsedNs), latency: summarize(result.durationsNs), cpu: window.cpu };
  } finally {
    for (const c of connections) c.close();
  }
}

function report(limits: RequestLimits, capacity: Capacity, overload: Overload): Section {
  const { rate, result: offered } = overload;
  const admitted = summarize(offered.latencyNs.get(200) ?? new Float64Array());
  const shedLatency = summarize(offered.latencyNs.get(503) ?? new Float64Array());
  const seconds = offered.elapsedNs / 1e9;
  const sent = offered.scheduled - offered.unsent;
  const ok = offered.statuses.get(200) ?? 0;
  const shed = offered.statuses.get(503) ?? 0;
  const other = [...offered.statuses].filter(([s]) => s !== 200 && s !== 503).map(([s, n]) => `${n} × HTTP ${s}`);
  const lag = Float64Array.from(offered.lagNs).sort();
  const share = (n: number) => (sent > 0 ? `${((100 * n) / sent).toFixed(1)}%` : 'n/a');
  return {
    title: `1×50 onlineFeatures: capacity, then twice the capacity offered (--max-in-flight ${limits.maxInFlight}, --max-queued ${limits.maxQueued}, --queue-timeout ${limits.queueTimeoutMs}ms)`,
    table: {
      columns: ['phase', 'offered req/s', 'admitted req/s', 'shed (503)', 'admitted p50', 'admitted p99', 'admitted max', 'shed p99', 'gateway CPU', 'load gen. CPU', 'other CPU'],
      rows: [
        [`at capacity (closed loop, ${limits.maxInFlight} clients)`, '—', perSecond(capacity.perSecond), '0', ms(capacity.latency.p50), ms(capacity.latency.p99), ms(capacity.latency.max), '—', ...cpuCells(capacity.cpu)],
        ['2× capacity (open loop)', perSecond(rate), perSecond(throughput(ok, offered.elapsedNs)), share(shed), ms(admitted.p50), ms(admitted.p99), ms(admitted.max), ms(shedLatency.p99), ...cpuCells(overload.cpu)],
      ],
    },
    notes: [
      `Admitted p99 under 2× load is ${times(ratio(admitted.p99, capacity.latency.p99))} the p99 at capacity; p50 ${times(ratio(admitted.p50, capacity.latency.p50))}.`,
      `Open loop: ${offered.scheduled} requests scheduled over ${seconds.toFixed(1)} s, ${sent} sent (${offered.unsent} found all ${POOL} connections busy), ${ok} admitted, ${shed} shed${other.length > 0 ? `, ${other.join(', ')}` : ''}, ${offered.failed} failed without an answer.`,
      `Sends were late against the schedule by ${ms(percentile(lag, 0.5) / 1e6)} at p50 and ${ms(percentile(lag, 0.99) / 1e6)} at p99 (the load generator shares the cores; latencies are timed from the actual send).`,
      `Under sustained overload every admitted request waits behind a full queue: its latency is about (in flight + queued) / admitted req/s = ${ms(((limits.maxInFlight + limits.maxQueued) / throughput(ok, offered.elapsedNs)) * 1000)} here.`,
      "CPU is the share of one core over each phase (100% = one core busy). The gateway, the load generator and everything else share the machine's cores.",
    ],
  };
}

function cpuCells(cpu: CpuWindow): string[] {
  return [percent(cpu.share('gateway')), percent(cpu.share('client')), percent(cpu.share(OTHERS))];
}
