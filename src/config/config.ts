/**
 * Resolves configuration: explicit flag → environment → documented default, validated once at start-up.
 * Pure: flags and environment in, a Config or a ConfigError naming every bad setting and where it came from.
 */
import path from 'node:path';
import { resolveAuthSettings } from '../auth/config.ts';
import type { AuthSettings } from '../auth/config.ts';
import { ConfigError } from '../errors.ts';
import { parseDuration } from '../features/duration.ts';
import { parseByteSize } from './byte-size.ts';
import { parseWindowList } from '../ops/quality/windows.ts';
import type { QualityWindow } from '../ops/quality/windows.ts';
import { SETTINGS } from './settings.ts';
import type { SettingName } from './settings.ts';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Where a setting's value came from, for error messages and `skewless config`. */
export type Origin = `flag --${string}` | `environment ${string}` | 'default';

export interface Config {
  readonly schemaDir: string;
  readonly transformsDir: string;
  readonly host: string;
  readonly port: number;
  /** Unset: the embedded PGlite offline store. */
  readonly databaseUrl: string | undefined;
  readonly pgliteDir: string | undefined;
  /** Unset: the embedded in-memory online store. */
  readonly redisUrl: string | undefined;
  readonly redisMode: 'standalone' | 'cluster';
  /** Longest a Redis command may take, ms. */
  readonly redisTimeoutMs: number;
  /** The Redis command timeout of the commands that write the online store from PostgreSQL (materialize, backfill, rebuild-online). */
  readonly onlineWriteTimeoutMs: number;
  /** Unset: the in-process event source. */
  readonly kafkaBrokers: readonly string[] | undefined;
  readonly consumerGroup: string;
  readonly kafkaSessionTimeoutMs: number;
  readonly allowedLatenessMs: number;
  readonly maxFutureSkewMs: number;
  /** Port of `skewless materialize`'s /metrics server; undefined: none (--metrics-port, default 9464; 0: a free port). */
  readonly metricsPort: number | undefined;
  /** How often freshness and materializer lag are read again, ms (--freshness-interval, default 15s). */
  readonly freshnessIntervalMs: number;
  /**
   * Whether `serve` seeds the demo data before listening: `auto` (the default) resolves to true only when
   * both stores are embedded (no DATABASE_URL, no REDIS_URL), so real stores are never filled with
   * synthetic data unless asked with `on`.
   */
  readonly demo: boolean;
  readonly maxEntities: number;
  readonly maxPushRows: number;
  readonly maxHistoricalRows: number;
  readonly entitySqlTimeoutMs: number;
  // Request limits of the gateway (docs/limits.md).
  /** Deepest field nesting an operation may have (--max-depth, default 10). */
  readonly maxDepth: number;
  /** Most Σ entity rows × features one request's online reads may cost (--max-cost, default 50000). */
  readonly maxCost: number;
  /** Largest /graphql request body, bytes (--max-body, default 8mb). */
  readonly maxBodyBytes: number;
  /** The trusted-documents file; undefined: any document runs (--trusted-documents). */
  readonly trustedDocuments: string | undefined;
  /** Requests per second per client; 0: no rate limit (--rate-limit, default 0). */
  readonly rateLimit: number;
  /** Requests a quiet client may make at once (--rate-limit-burst, default: one second of the rate, at least 1). */
  readonly rateLimitBurst: number;
  /** GraphQL requests handled at once; 0: no limit (--max-in-flight, default 32). */
  readonly maxInFlight: number;
  /** Requests that may wait for a slot (--max-queued, default 8). */
  readonly maxQueued: number;
  /** Longest a request waits for a slot, ms (--queue-timeout, default 250ms). */
  readonly queueTimeoutMs: number;
  /** Whether unexpected errors are masked (--mask-errors; auto: unless NODE_ENV=development). */
  readonly maskErrors: boolean;
  readonly transformPoolSize: number;
  readonly transformMemoryMb: number;
  readonly transformTimeoutMs: number;
  /** Tile and slice rows the materializer remembers as committed (--piece-cache-rows, default 100000; 0: off). */
  readonly pieceCacheRows: number;
  /** Archived events `skewless backfill` folds and merges per transaction (--backfill-chunk, default 5000). */
  readonly backfillChunk: number;
  /** Windows data-quality statistics cover by default (--quality-windows, default 1h,24h,7d). */
  readonly qualityWindows: readonly QualityWindow[];
  /** How often `serve` refreshes the data-quality metrics, ms; 0: never (--quality-interval, default 5m). */
  readonly qualityIntervalMs: number;
  /** Most history rows per row view and window the statistics read (--quality-max-rows, default 100000). */
  readonly qualityMaxRows: number;
  /** Most entities per aggregation view and window the statistics evaluate (--quality-max-entities, default 1000). */
  readonly qualityMaxEntities: number;
  /** Fraction of online requests sampled for parity, 0 to 1; 0: none (--parity-sample-rate, default 0.01). */
  readonly paritySampleRate: number;
  /** Most parity samples held in memory before being written (--parity-buffer, default 10000). */
  readonly parityBuffer: number;
  /** How often `serve` reconciles parity samples, ms; 0: never (--parity-interval, default 1m). */
  readonly parityIntervalMs: number;
  /** How old a sample must be before it is judged, ms (--parity-settle, default 2m). */
  readonly paritySettleMs: number;
  /** Samples older than this are deleted, ms; 0: kept (--parity-retention, default 7d). */
  readonly parityRetentionMs: number;
  /** Authentication and authorization of the gateway (--auth, --api-keys, --jwt-*, --policy, --introspection, --metrics-auth). */
  readonly auth: AuthSettings;
  readonly logLevel: LogLevel;
  readonly origins: Readonly<Record<SettingName, Origin>>;
}

export type Flags = Partial<Record<SettingName, string>>;

export function resolveConfig(flags: Flags, env: Readonly<Record<string, string | undefined>>): Config {
  const problems: string[] = [];
  const origins = {} as Record<SettingName, Origin>;
  const raw = {} as Record<SettingName, string | undefined>;
  for (const [name, spec] of Object.entries(SETTINGS) as [SettingName, (typeof SETTINGS)[SettingName]][]) {
    const fromFlag = flags[name];
    const fromEnv = 'env' in spec ? nonEmpty(env[spec.env]) : undefined;
    if (fromFlag !== undefined) {
      raw[name] = fromFlag;
      origins[name] = `flag --${spec.flag}`;
    } else if (fromEnv !== undefined && 'env' in spec) {
      raw[name] = fromEnv;
      origins[name] = `environment ${spec.env}`;
    } else {
      raw[name] = 'default' in spec ? spec.default : undefined;
      origins[name] = 'default';
    }
  }
  const bad = (name: SettingName, expected: string): void => {
    problems.push(`${settingLabel(name)} (from ${origins[name]}): expected ${expected}, got ${JSON.stringify(raw[name])}`);
  };

  const port = Number(raw.port);
  if (!/^\d+$/.test(raw.port ?? '') || port > 65535) bad('port', 'a TCP port from 0 to 65535');

  const positive = (name: 'maxEntities' | 'maxPushRows' | 'maxHistoricalRows' | 'entitySqlTimeoutMs' | 'redisTimeoutMs' | 'onlineWriteTimeoutMs' | 'transformPoolSize' | 'transformMemoryMb' | 'transformTimeoutMs' | 'kafkaSessionTimeoutMs' | 'backfillChunk' | 'qualityMaxRows' | 'qualityMaxEntities' | 'parityBuffer' | 'maxDepth' | 'maxCost' | 'rateLimitBurst'): number => {
    const n = Number(raw[name]);
    if (!/^\d+$/.test(raw[name] ?? '') || n < 1) bad(name, 'a positive integer');
    return n;
  };
  const maxEntities = positive('maxEntities');
  const maxPushRows = positive('maxPushRows');
  const maxHistoricalRows = positive('maxHistoricalRows');
  const entitySqlTimeoutMs = positive('entitySqlTimeoutMs');
  const redisTimeoutMs = positive('redisTimeoutMs');
  const onlineWriteTimeoutMs = positive('onlineWriteTimeoutMs');
  const transformPoolSize = positive('transformPoolSize');
  const transformMemoryMb = positive('transformMemoryMb');
  const transformTimeoutMs = positive('transformTimeoutMs');
  const backfillChunk = positive('backfillChunk');
  const pieceCacheRows = Number(raw.pieceCacheRows);
  if (!/^\d+$/.test(raw.pieceCacheRows ?? '')) bad('pieceCacheRows', 'a whole number (0 turns the cache off)');
  const qualityMaxRows = positive('qualityMaxRows');
  const qualityMaxEntities = positive('qualityMaxEntities');
  const qualityWindows = parseWindowList(raw.qualityWindows ?? '');
  if (qualityWindows === undefined) bad('qualityWindows', 'a comma-separated list of positive durations such as 1h,24h,7d');
  // isolated-vm refuses heaps under 8 MB.
  if (transformMemoryMb < 8) bad('transformMemoryMb', 'at least 8 (MB)');
  const redisMode = raw.redisMode as Config['redisMode'];
  if (redisMode !== 'standalone' && redisMode !== 'cluster') bad('redisMode', 'standalone or cluster');

  const logLevel = raw.logLevel as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) bad('logLevel', `one of ${LOG_LEVELS.join(', ')}`);

  if (raw.databaseUrl !== undefined && !isUrl(raw.databaseUrl, ['postgres:', 'postgresql:'])) {
    bad('databaseUrl', 'a postgres:// or postgresql:// URL');
  }
  if (raw.redisUrl !== undefined && !isUrl(raw.redisUrl, ['redis:', 'rediss:'])) bad('redisUrl', 'a redis:// or rediss:// URL');

  let kafkaBrokers: string[] | undefined;
  if (raw.kafkaBrokers !== undefined) {
    kafkaBrokers = raw.kafkaBrokers.split(',').map((b) => b.trim());
    if (kafkaBrokers.some((b) => !/^[A-Za-z0-9.\-_]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(b))) {
      bad('kafkaBrokers', 'a comma-separated list of host:port');
    }
  }

  const duration = (name: 'allowedLateness' | 'maxFutureSkew' | 'qualityInterval' | 'parityInterval' | 'paritySettle' | 'parityRetention' | 'queueTimeout'): number => {
    const ms = parseDuration(raw[name] ?? '');
    if (ms === undefined) bad(name, 'a duration such as 30s, 15m, 1d');
    return ms ?? 0;
  };
  const kafkaSessionTimeoutMs = positive('kafkaSessionTimeoutMs');
  const allowedLatenessMs = duration('allowedLateness');
  const maxFutureSkewMs = duration('maxFutureSkew');
  // Each reading is a query per view (and a Kafka metadata call per topic): not something to run constantly.
  const freshnessIntervalMs = parseDuration(raw.freshnessInterval ?? '') ?? 0;
  if (freshnessIntervalMs < 1000) bad('freshnessInterval', 'a duration of at least 1s, such as 15s or 1m');
  const metricsPort = raw.metricsPort === 'off' ? undefined : Number(raw.metricsPort);
  if (metricsPort !== undefined && (!/^\d+$/.test(raw.metricsPort ?? '') || metricsPort > 65535)) bad('metricsPort', 'a TCP port from 0 to 65535, or off');
  const qualityIntervalMs = duration('qualityInterval');
  const paritySampleRate = Number(raw.paritySampleRate);
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(raw.paritySampleRate ?? '') || paritySampleRate > 1) bad('paritySampleRate', 'a fraction from 0 to 1, such as 0.01');
  const parityBuffer = positive('parityBuffer');
  const parityIntervalMs = duration('parityInterval');
  const paritySettleMs = duration('paritySettle');
  const parityRetentionMs = duration('parityRetention');
  if (!/^[A-Za-z0-9._-]+$/.test(raw.consumerGroup ?? '')) bad('consumerGroup', 'a name of letters, digits, ".", "_" and "-"');
  // Request limits (docs/limits.md).
  const maxDepth = positive('maxDepth');
  const maxCost = positive('maxCost');
  const maxBodyBytes = parseByteSize(raw.maxBody) ?? 0;
  if (maxBodyBytes === 0) bad('maxBody', 'a size in bytes, or with kb or mb, such as 8mb');
  const rateLimit = Number(raw.rateLimit);
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(raw.rateLimit ?? '')) bad('rateLimit', 'requests per second, 0 or more (0: no rate limit)');
  const rateLimitBurst = raw.rateLimitBurst === undefined ? Math.max(1, Math.ceil(rateLimit)) : positive('rateLimitBurst');
  const count = (name: 'maxInFlight' | 'maxQueued'): number => {
    if (!/^\d+$/.test(raw[name] ?? '')) bad(name, 'a whole number, 0 or more');
    return Number(raw[name]);
  };
  const maxInFlight = count('maxInFlight');
  const maxQueued = count('maxQueued');
  const queueTimeoutMs = duration('queueTimeout');
  const maskMode = raw.maskErrors;
  if (maskMode !== 'auto' && maskMode !== 'on' && maskMode !== 'off') bad('maskErrors', 'auto, on or off');
  const maskErrors = maskMode === 'on' || (maskMode === 'auto' && env.NODE_ENV !== 'development');
  const demoMode = raw.demo;
  if (demoMode !== 'auto' && demoMode !== 'on' && demoMode !== 'off') bad('demo', 'auto, on or off');
  const demo = demoMode === 'on' || (demoMode === 'auto' && raw.databaseUrl === undefined && raw.redisUrl === undefined);

  const auth = resolveAuthSettings(raw, bad);

  if (problems.length > 0) {
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`, { problems });
  }
  return Object.freeze({
    schemaDir: path.resolve(raw.schemaDir!),
    transformsDir: path.resolve(raw.transformsDir!),
    host: raw.host!,
    port,
    databaseUrl: raw.databaseUrl,
    pgliteDir: raw.pgliteDir === undefined ? undefined : path.resolve(raw.pgliteDir),
    redisUrl: raw.redisUrl,
    redisMode,
    redisTimeoutMs,
    onlineWriteTimeoutMs,
    kafkaBrokers,
    consumerGroup: raw.consumerGroup!,
    kafkaSessionTimeoutMs,
    allowedLatenessMs,
    maxFutureSkewMs,
    metricsPort,
    freshnessIntervalMs,
    demo,
    maxEntities,
    maxPushRows,
    maxHistoricalRows,
    entitySqlTimeoutMs,
    maxDepth,
    maxCost,
    maxBodyBytes,
    trustedDocuments: raw.trustedDocuments === undefined ? undefined : path.resolve(raw.trustedDocuments),
    rateLimit,
    rateLimitBurst,
    maxInFlight,
    maxQueued,
    queueTimeoutMs,
    maskErrors,
    transformPoolSize,
    transformMemoryMb,
    transformTimeoutMs,
    backfillChunk,
    pieceCacheRows,
    qualityWindows: qualityWindows ?? [],
    qualityIntervalMs,
    qualityMaxRows,
    qualityMaxEntities,
    paritySampleRate,
    parityBuffer,
    parityIntervalMs,
    paritySettleMs,
    parityRetentionMs,
    auth,
    logLevel,
    origins: Object.freeze(origins),
  });
}

/** `--port / PORT`: how a setting is spelled to the user. */
export function settingLabel(name: SettingName): string {
  const spec: { flag: string; env?: string } = SETTINGS[name];
  return spec.env === undefined ? `--${spec.flag}` : `--${spec.flag} / ${spec.env}`;
}

/** A URL with credentials hidden, safe to log. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

function isUrl(value: string, protocols: readonly string[]): boolean {
  try {
    const u = new URL(value);
    return protocols.includes(u.protocol) && u.hostname !== '';
  } catch {
    return false;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
