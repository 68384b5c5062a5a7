/**
 * The reconciler as `skewless serve` runs it: a pass every --parity-interval (periodic.ts: off the request
 * path, passes never overlap, the timer does not keep the process alive). A failing pass — the offline
 * store down, a bug — is logged and the next one tries again: parity never takes the gateway down.
 */
import type { Logger } from '../log.ts';
import { periodic } from '../periodic.ts';
import { reconcileParity } from './reconcile.ts';
import type { ReconcileDeps } from './reconcile.ts';

export interface ParityLoopOptions {
  /** --parity-interval, ms; 0 means no loop. */
  readonly intervalMs: number;
  /** --parity-settle, ms. */
  readonly settleMs: number;
  /** --parity-retention, ms. */
  readonly retentionMs: number;
  readonly logger: Logger;
  /** Runs before each pass; a rejection fails the pass (logged) like any other. */
  readonly before?: () => Promise<void>;
  /** Clock, injectable for tests. Default Date.now. */
  readonly now?: () => number;
}

export interface ParityLoop {
  /** Stops the timer and waits for a pass under way, so the stores can be closed after it. */
  stop(): Promise<void>;
}

/** Starts the loop (its first pass one interval from now); undefined when the interval is 0. */
export function startParityLoop(deps: ReconcileDeps, options: ParityLoopOptions): ParityLoop | undefined {
  if (options.intervalMs <= 0) return undefined;
  const clock = options.now ?? Date.now;
  let current: Promise<unknown> = Promise.resolve();
  const pass = async () => {
    const run = (options.before?.() ?? Promise.resolve()).then(() => reconcileParity(deps, { now: clock(), settleMs: options.settleMs, retentionMs: options.retentionMs }));
    current = run;
    const summary = await run;
    // Quiet passes only at debug level: a gateway with little traffic would otherwise log one a minute.
    const level = summary.samples > 0 || summary.pruned > 0 ? 'info' : 'debug';
    options.logger[level]('parity.reconciled', { samples: summary.samples, outcomes: summary.totals, pruned: summary.pruned });
  };
  const loop = periodic(pass, options.intervalMs, (error) => options.logger.warn('parity.reconcile_failed', { error: error instanceof Error ? error.message : String(error) }));
  // The first pass one interval after start-up rather than during it: start-up (the demo seed, the first
  // requests) has enough to do, and samples younger than the settle delay would wait anyway.
  const timer = setTimeout(() => void loop.start(), options.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearTimeout(timer);
      loop.stop();
      await current.catch(() => undefined);
    },
  };
}
