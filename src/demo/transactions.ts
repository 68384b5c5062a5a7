/**
 * Synthetic card transactions for the example repository (pure): a month of authorisations by a few
 * hundred card holders at a few dozen merchants, deterministic in (seed, until).
 *
 * Shaped so every example feature has something to show: merchants differ in popularity (a few take most
 * of the traffic) and in typical ticket size; amounts are log-normal around the merchant's typical one,
 * with a rare large outlier; card holders differ in how often they pay and mostly return to a few
 * favourite merchants, so distinct-merchant counts are well below transaction counts; traffic follows a
 * daily rhythm (quiet at night, peaks at lunch and in the evening, UTC) and is a little busier at weekends.
 */
import { MS_PER } from '../features/duration.ts';
import { exponential, logNormal, seededRandom, weightedPicker } from './random.ts';
import type { Random } from './random.ts';

export interface DemoShape {
  /** Seed of the generator: the same seed and `until` give the same transactions. Default 1. */
  readonly seed: number;
  /** End of the generated period, epoch ms (exclusive): "now" when the demo seeds. */
  readonly until: number;
  /** Length of the period, days. Default 30. */
  readonly days: number;
  /** Card holders u1 … uN. Default 300. */
  readonly users: number;
  /** Merchants m1 … mN, m1 the busiest. Default 50. */
  readonly merchants: number;
  /** Transactions over the whole period. Default 15,000 (about 50 per card holder a month): what seeds in a few seconds. */
  readonly transactions: number;
}

export const DEFAULT_DEMO_SHAPE: Omit<DemoShape, 'until'> = { seed: 1, days: 30, users: 300, merchants: 50, transactions: 15_000 };

export interface DemoTransaction {
  readonly userId: string;
  readonly merchantId: string;
  /** Amount in the card's currency, rounded to cents. */
  readonly amount: number;
  /** Country of the merchant, ISO 3166-1 alpha-2. */
  readonly country: string;
  /** When the transaction was authorised, epoch ms: in [until − days, until). */
  readonly eventTime: number;
  /**
   * When its message was published (the message timestamp), epoch ms: a few seconds after eventTime,
   * never after until, so the default lateness and skew bounds accept every event.
   */
  readonly publishedAt: number;
}

/** Relative traffic by UTC hour of day: night trough, lunch and evening peaks. */
const HOURLY = [0.12, 0.08, 0.06, 0.05, 0.06, 0.1, 0.22, 0.4, 0.6, 0.7, 0.75, 0.85, 1, 0.95, 0.75, 0.7, 0.72, 0.8, 0.92, 0.95, 0.8, 0.6, 0.4, 0.22];
const WEEKEND = 1.2;
const MAX_RHYTHM = Math.max(...HOURLY) * WEEKEND;
/** Publication delay after authorisation: mean 2 s, capped at 1 min (the default future skew is 1 min, lateness 1 d). */
const DELAY_MEAN_MS = 2_000;
const DELAY_MAX_MS = MS_PER.m;

const COUNTRIES = ['US', 'GB', 'DE', 'FR', 'NL', 'ES', 'IT', 'SE'];
const COUNTRY_WEIGHTS = [30, 18, 16, 12, 8, 7, 6, 3];

interface Merchant {
  readonly id: string;
  readonly country: string;
  /** Typical ticket size. */
  readonly median: number;
}

interface CardHolder {
  readonly id: string;
  readonly favourites: readonly number[];
}

/** Transactions in publication order (the order a producer would have sent them). */
export function generateTransactions(shape: DemoShape): DemoTransaction[] {
  for (const name of ['days', 'users', 'merchants'] as const) {
    if (!(shape[name] > 0)) throw new RangeError(`demo ${name} must be positive, got ${shape[name]}`);
  }
  const random = seededRandom(shape.seed);
  const from = shape.until - shape.days * MS_PER.d;
  const merchants = makeMerchants(random, shape.merchants);
  // Popularity falls off with rank (Zipf-like): m1 is the busiest, the last still sees dozens a month.
  const popularity = weightedPicker(merchants.map((_, i) => 1 / Math.pow(i + 1, 0.7)));
  const holders = makeCardHolders(random, shape.users, popularity, merchants.length);
  const activity = weightedPicker(holders.map(() => logNormal(random, 1, 0.6)));

  const out: DemoTransaction[] = [];
  for (let i = 0; i < shape.transactions; i++) {
    const holder = holders[activity(random)]!;
    const eventTime = drawTime(random, from, shape.until);
    // Mostly a favourite merchant; now and then anywhere, by popularity.
    const m = random() < 0.8 ? holder.favourites[Math.floor(random() * holder.favourites.length)]! : popularity(random);
    const merchant = merchants[m]!;
    const outlier = random() < 0.01 ? 3 + 7 * random() : 1;
    const amount = Math.max(0.5, Math.round(logNormal(random, merchant.median, 0.55) * outlier * 100) / 100);
    const delay = Math.min(DELAY_MAX_MS, Math.round(20 + exponential(random, DELAY_MEAN_MS)));
    const publishedAt = Math.min(eventTime + delay, shape.until - 1);
    out.push({ userId: holder.id, merchantId: merchant.id, amount, country: merchant.country, eventTime, publishedAt });
  }
  return out.sort((a, b) => a.publishedAt - b.publishedAt || a.eventTime - b.eventTime);
}

function makeMerchants(random: Random, count: number): Merchant[] {
  const country = weightedPicker(COUNTRY_WEIGHTS);
  return Array.from({ length: count }, (_, i) => ({
    id: `m${i + 1}`,
    country: COUNTRIES[country(random)]!,
    // Coffee shops to electronics stores: typical tickets from a few to a few hundred.
    median: Math.round(logNormal(random, 30, 0.9) * 100) / 100,
  }));
}

function makeCardHolders(random: Random, count: number, popularity: (random: Random) => number, merchantCount: number): CardHolder[] {
  return Array.from({ length: count }, (_, i) => {
    const favourites = new Set<number>();
    const wanted = Math.min(2 + Math.floor(random() * 5), merchantCount);
    while (favourites.size < wanted) favourites.add(popularity(random));
    return { id: `u${i + 1}`, favourites: [...favourites] };
  });
}

/** A millisecond in [from, until), following the daily and weekly rhythm (rejection sampling). */
function drawTime(random: Random, from: number, until: number): number {
  for (;;) {
    const t = from + Math.floor(random() * (until - from));
    const date = new Date(t);
    const day = date.getUTCDay();
    const weight = HOURLY[date.getUTCHours()]! * (day === 0 || day === 6 ? WEEKEND : 1);
    if (random() * MAX_RHYTHM < weight) return t;
  }
}
