/**
 * Parity as `skewless serve` runs it: the tables made sure of, the sampler the gateway hands every request
 * context, and the reconciliation loop. Nothing here can stop the gateway from starting or serving: when
 * the tables cannot be made now, it says so in the log and each reconciliation pass tries again.
 */
import type { Config } from '../../config/config.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { startParityLoop } from './loop.ts';
import type { ReconcileDeps } from './reconcile.ts';
import { ParitySampler } from './sampler.ts';
import { ensureParityTables } from './tables.ts';

export type ParityConfig = Pick<Config, 'paritySampleRate' | 'parityBuffer' | 'parityIntervalMs' | 'paritySettleMs' | 'parityRetentionMs'>;

export interface ParityRuntime {
  /** For the gateway's request contexts (ServingDeps.parity); undefined when sampling is off. */
  readonly sampler: ParitySampler | undefined;
  /** Stops the loop (waiting for a pass under way) and writes the samples still buffered. */
  close(): Promise<void>;
}

export async function startParity(config: ParityConfig, deps: ReconcileDeps & { readonly metrics: Metrics; readonly logger: Logger }): Promise<ParityRuntime> {
  const { registry, stores, metrics, logger } = deps;
  let ready = await ensureParityTables(stores.offline).then(
    () => true,
    (error: unknown) => {
      logger.warn('parity.tables_unavailable', { error: error instanceof Error ? error.message : String(error) });
      return false;
    },
  );
  const sampler = config.paritySampleRate > 0 ? new ParitySampler({ registry, offline: stores.offline, rate: config.paritySampleRate, bufferSize: config.parityBuffer, metrics, logger }) : undefined;
  const loop = startParityLoop(deps, {
    intervalMs: config.parityIntervalMs,
    settleMs: config.paritySettleMs,
    retentionMs: config.parityRetentionMs,
    logger,
    // Tables that could not be made at start-up are tried again before each pass, until they are.
    before: async () => {
      if (!ready) await ensureParityTables(stores.offline).then(() => (ready = true));
    },
  });
  return {
    sampler,
    async close() {
      await loop?.stop();
      await sampler?.close();
    },
  };
}
