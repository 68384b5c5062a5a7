/**
 * The online benchmark's report: its scenarios' results as the summary, latency and saturation tables,
 * with each scenario judged against the issue's targets. Pure.
 */
import type { CpuWindow } from './cpu.ts';
import { OTHERS } from './cpu.ts';
import type { Section } from './benchmark.ts';
import type { SaturationResult } from './load.ts';
import { ratio, summarize, throughput } from './stats.ts';
import type { LatencySummary } from './stats.ts';
import { ms, perSecond, percent, times } from './table.ts';

export interface Target {
  readonly p99Ms: number;
  /** Requests/s at saturation from one gateway process, when the issue sets one. */
  readonly minPerSecond?: number;
}

export interface Scenario {
  readonly label: string;
  readonly entities: number;
  readonly query: string;
  readonly verify: (text: string, n: number) => void;
  readonly target: Target;
  /** Requests sent at one client before / while recording. */
  readonly warmup: number;
  readonly count: number;
}

export interface Level {
  readonly concurrency: number;
  readonly gateway: SaturationResult;
  readonly raw: SaturationResult;
  /** CPU shares during the gateway run and during the raw run. */
  readonly gatewayCpu: CpuWindow;
  readonly rawCpu: CpuWindow;
}

export interface ScenarioResult {
  readonly scenario: Scenario;
  readonly gateway: LatencySummary;
  readonly raw: LatencySummary;
  /** CPU shares while the gateway was timed at one client. */
  readonly gatewayCpu: CpuWindow;
  readonly levels: readonly Level[];
}

const perSecondOf = (r: SaturationResult) => throughput(r.completed, r.elapsedNs);

export function bestLevel(result: ScenarioResult): Level {
  return result.levels.reduce((a, b) => (perSecondOf(b.gateway) > perSecondOf(a.gateway) ? b : a));
}

function verdict(result: ScenarioResult): { target: string; met: string } {
  const { target } = result.scenario;
  const misses: string[] = [];
  if (!(result.gateway.p99 <= target.p99Ms)) misses.push('p99');
  const parts = [`p99 ≤ ${target.p99Ms} ms`];
  if (target.minPerSecond !== undefined) {
    parts.push(`≥ ${perSecond(target.minPerSecond)} req/s`);
    if (!(perSecondOf(bestLevel(result).gateway) >= target.minPerSecond)) misses.push('req/s');
  }
  return { target: parts.join(', '), met: misses.length === 0 ? 'yes' : `no (${misses.join(', ')})` };
}

export function summarySection(results: readonly ScenarioResult[]): Section {
  return {
    title: 'Summary',
    table: {
      columns: ['scenario', 'gateway p50', 'gateway p99', 'raw MGET p50', 'raw MGET p99', 'ratio p99', 'gateway req/s', 'raw req/s', 'target', 'met?'],
      rows: results.map((r) => {
        const best = bestLevel(r);
        const v = verdict(r);
        return [
          r.scenario.label,
          ms(r.gateway.p50),
          ms(r.gateway.p99),
          ms(r.raw.p50),
          ms(r.raw.p99),
          times(ratio(r.gateway.p99, r.raw.p99)),
          `${perSecond(perSecondOf(best.gateway))} (c=${best.concurrency})`,
          perSecond(perSecondOf(best.raw)),
          v.target,
          v.met,
        ];
      }),
    },
    notes: [
      'Latencies at one client (requests back to back on one keep-alive connection). req/s: the best of the concurrencies tried, with c in-flight requests on c connections; raw req/s at the same c over one auto-pipelined ioredis connection, as the gateway has.',
      'Reference points: Feast Go feature server p99 1.8 ms (1×50) and 22 ms (100×50); Feast Python server, tuned, p99 4.6 ms at 1 row.',
    ],
  };
}

export function latencySection(results: readonly ScenarioResult[]): Section {
  return {
    title: 'Latency at one client',
    table: {
      columns: ['scenario', 'requests', 'gateway p50', 'gateway p99', 'gateway max', 'gateway mean', 'raw p50', 'raw p99', 'raw max', 'ratio p50', 'other CPU'],
      rows: results.map((r) => [
        r.scenario.label,
        perSecond(r.gateway.count),
        ms(r.gateway.p50),
        ms(r.gateway.p99),
        ms(r.gateway.max),
        ms(r.gateway.mean),
        ms(r.raw.p50),
        ms(r.raw.p99),
        ms(r.raw.max),
        times(ratio(r.gateway.p50, r.raw.p50)),
        percent(r.gatewayCpu.share(OTHERS)),
      ]),
    },
    notes: ['other CPU: processes that are none of the bench\'s while the gateway was timed (see below).'],
  };
}

export function saturationSection(results: readonly ScenarioResult[]): Section {
  const rows: string[][] = [];
  for (const r of results) {
    for (const level of r.levels) {
      const g = summarize(level.gateway.durationsNs);
      rows.push([
        r.scenario.label,
        String(level.concurrency),
        perSecond(perSecondOf(level.gateway)),
        ms(g.p50),
        ms(g.p99),
        percent(level.gatewayCpu.share('gateway')),
        percent(level.gatewayCpu.share('client')),
        percent(level.gatewayCpu.share('redis')),
        percent(level.gatewayCpu.share(OTHERS)),
        perSecond(perSecondOf(level.raw)),
        ms(summarize(level.raw.durationsNs).p99),
        percent(level.rawCpu.share('client')),
        percent(level.rawCpu.share('redis')),
        percent(level.rawCpu.share(OTHERS)),
      ]);
    }
  }
  return {
    title: 'Throughput at saturation',
    table: {
      columns: ['scenario', 'c', 'gateway req/s', 'p50 under load', 'p99 under load', 'gateway CPU', 'load gen. CPU', 'Redis CPU', 'other CPU', 'raw req/s', 'raw p99 under load', 'raw: load gen. CPU', 'raw: Redis CPU', 'raw: other CPU'],
      rows,
    },
    notes: [
      'c: requests in flight. CPU: share of one core over the measured window (100% = one core busy; the gateway can pass 100% with its GC and I/O threads); gateway, load generator and Redis share the machine\'s nproc cores; other: every other process on the machine (anything well above 0% means the numbers are disturbed). The raw run has no gateway: its load generator is ioredis in the bench process.',
    ],
  };
}
