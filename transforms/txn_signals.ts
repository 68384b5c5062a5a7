/**
 * Request-time fraud signals for the transaction being scored.
 *
 * Pure: the same inputs give the same outputs, online and in training. No clock, no randomness, no I/O:
 * the sandbox refuses them, and `asOf` (the instant being served, epoch ms) is passed in when needed.
 * The types come from the registry: `npm run skewless -- codegen` writes transforms/generated/.
 */
import type { TxnSignalsInput, TxnSignalsOutput } from './generated/txn_signals.ts';

export default function txnSignals(row: TxnSignalsInput): TxnSignalsOutput {
  const { amount } = row.request;
  const avg = row.user_txn_stats.txn_amount_avg_7d;
  const { avg_tx_amount: mean, stddev_tx_amount: std } = row.merchant_baseline;
  return {
    amount_to_avg_ratio: avg === null || avg === 0 ? null : amount / avg,
    amount_z_score: mean === null || std === null || std === 0 ? null : (amount - mean) / std,
  };
}
