/**
 * Every setting Skewless reads, with its flag, environment variable and default, in one table. The README's
 * configuration section is generated from the same table (`skewless help`), so the two cannot drift.
 */

export interface SettingSpec {
  /** Long flag without dashes (`--schema DIR`). */
  readonly flag: string;
  /** Environment variable, when the setting may come from the environment. */
  readonly env?: string;
  /** Default used when neither is given; undefined means "unset" (e.g. use the embedded store). */
  readonly default?: string;
  readonly valueName: string;
  readonly help: string;
}

export const SETTINGS = {
  schemaDir: {
    flag: 'schema',
    env: 'SKEWLESS_SCHEMA',
    default: './schema',
    valueName: 'DIR',
    help: 'Directory searched recursively for *.graphql feature definitions.',
  },
  transformsDir: {
    flag: 'transforms',
    env: 'SKEWLESS_TRANSFORMS',
    default: './transforms',
    valueName: 'DIR',
    help: 'Directory of on-demand transforms, one <name>.ts per transform.',
  },
  host: {
    flag: 'host',
    env: 'HOST',
    default: '127.0.0.1',
    valueName: 'ADDR',
    help: 'Interface the gateway listens on (0.0.0.0 for all, as in the Docker image).',
  },
  port: {
    flag: 'port',
    env: 'PORT',
    default: '4000',
    valueName: 'N',
    help: 'TCP port of the gateway; 0 picks a free port and logs it.',
  },
  databaseUrl: {
    flag: 'database-url',
    env: 'DATABASE_URL',
    valueName: 'URL',
    help: 'PostgreSQL offline store (postgres://user:pass@host:port/db). Unset: embedded PGlite.',
  },
  pgliteDir: {
    flag: 'pglite-dir',
    env: 'SKEWLESS_PGLITE_DIR',
    valueName: 'DIR',
    help: 'Where the embedded PGlite offline store keeps its data. Unset: in memory, gone at exit.',
  },
  redisUrl: {
    flag: 'redis-url',
    env: 'REDIS_URL',
    valueName: 'URL',
    help: 'Redis online store (redis://[:pass@]host:port[/db], rediss:// for TLS). Unset: embedded in-memory store.',
  },
  redisMode: {
    flag: 'redis-mode',
    env: 'REDIS_MODE',
    default: 'standalone',
    valueName: 'MODE',
    help: 'standalone, or cluster for Redis Cluster (REDIS_URL then names one seed node).',
  },
  redisTimeoutMs: {
    flag: 'redis-timeout',
    env: 'SKEWLESS_REDIS_TIMEOUT',
    default: '1000',
    valueName: 'MS',
    help: 'How long one Redis command may take before its values are served as ONLINE_STORE_UNAVAILABLE.',
  },
  kafkaBrokers: {
    flag: 'kafka-brokers',
    env: 'KAFKA_BROKERS',
    valueName: 'HOST:PORT,...',
    help: 'Kafka bootstrap brokers for the materializer. Unset: the in-process event source.',
  },
  consumerGroup: {
    flag: 'consumer-group',
    env: 'SKEWLESS_CONSUMER_GROUP',
    default: 'skewless-materializer',
    valueName: 'NAME',
    help: 'Kafka consumer group of the materializer; its committed offsets are kept in PostgreSQL under this name.',
  },
  kafkaSessionTimeoutMs: {
    flag: 'kafka-session-timeout',
    env: 'SKEWLESS_KAFKA_SESSION_TIMEOUT',
    default: '30000',
    valueName: 'MS',
    help: "How long Kafka waits for a silent materializer before giving its partitions to another (at least the broker's group.min.session.timeout.ms, 6000 by default).",
  },
  allowedLateness: {
    flag: 'allowed-lateness',
    env: 'SKEWLESS_ALLOWED_LATENESS',
    default: '1d',
    valueName: 'DURATION',
    help: "How long before its Kafka message's timestamp an event may be dated and still count; older ones are dead-lettered as LATE.",
  },
  maxFutureSkew: {
    flag: 'max-future-skew',
    env: 'SKEWLESS_MAX_FUTURE_SKEW',
    default: '1m',
    valueName: 'DURATION',
    help: "How long after its Kafka message's timestamp an event may be dated (producer clock skew); later ones are dead-lettered as FUTURE.",
  },
  metricsPort: {
    flag: 'metrics-port',
    env: 'SKEWLESS_METRICS_PORT',
    default: '9464',
    valueName: 'N|off',
    help: '`materialize` serves /metrics and /healthz on this port (on --host); 0 picks a free port and logs it, off serves none. The gateway serves /metrics on its own port.',
  },
  freshnessInterval: {
    flag: 'freshness-interval',
    env: 'SKEWLESS_FRESHNESS_INTERVAL',
    default: '15s',
    valueName: 'DURATION',
    help: "How often `serve` reads each view's newest event time (and Kafka lag) for freshness, and `materialize` its lag; at least 1s.",
  },
  demo: {
    flag: 'demo',
    env: 'SKEWLESS_DEMO',
    default: 'auto',
    valueName: 'auto|on|off',
    help: 'Seed a month of synthetic transactions for the example before serving (auto: only when both stores are embedded).',
  },
  maxEntities: {
    flag: 'max-entities',
    env: 'SKEWLESS_MAX_ENTITIES',
    default: '1000',
    valueName: 'N',
    help: 'Most entity rows one online request may ask for; more is refused before any store call.',
  },
  maxPushRows: {
    flag: 'max-push-rows',
    env: 'SKEWLESS_MAX_PUSH_ROWS',
    default: '10000',
    valueName: 'N',
    help: 'Most rows one pushFeatures call may carry; use `skewless ingest` for bulk loads.',
  },
  maxHistoricalRows: {
    flag: 'max-historical-rows',
    env: 'SKEWLESS_MAX_HISTORICAL_ROWS',
    default: '100000',
    valueName: 'N',
    help: 'Most entity rows one historicalFeatures query answers over GraphQL.',
  },
  entitySqlTimeoutMs: {
    flag: 'entity-sql-timeout',
    env: 'SKEWLESS_ENTITY_SQL_TIMEOUT',
    default: '30000',
    valueName: 'MS',
    help: 'Statement timeout, in milliseconds, for a historicalFeatures query driven by entitySql.',
  },
  transformPoolSize: {
    flag: 'transform-pool-size',
    env: 'SKEWLESS_TRANSFORM_POOL_SIZE',
    default: '2',
    valueName: 'N',
    help: 'Isolates in the on-demand transform sandbox; batches on different isolates run in parallel.',
  },
  transformMemoryMb: {
    flag: 'transform-memory',
    env: 'SKEWLESS_TRANSFORM_MEMORY',
    default: '64',
    valueName: 'MB',
    help: 'Heap limit of each transform isolate; a transform that exceeds it fails the row (TRANSFORM_OOM).',
  },
  transformTimeoutMs: {
    flag: 'transform-timeout',
    env: 'SKEWLESS_TRANSFORM_TIMEOUT',
    default: '1000',
    valueName: 'MS',
    help: 'CPU time one sandbox call (a batch of rows) may take; the row running when it expires fails (TRANSFORM_TIMEOUT).',
  },
  backfillChunk: {
    flag: 'backfill-chunk',
    env: 'SKEWLESS_BACKFILL_CHUNK',
    default: '5000',
    valueName: 'N',
    help: 'Archived events `skewless backfill` folds and merges per PostgreSQL transaction.',
  },
  qualityWindows: {
    flag: 'quality-windows',
    env: 'SKEWLESS_QUALITY_WINDOWS',
    default: '1h,24h,7d',
    valueName: 'LIST',
    help: 'Recent windows data-quality statistics and their metrics cover, comma-separated durations ending now (see docs/data-quality.md).',
  },
  qualityInterval: {
    flag: 'quality-interval',
    env: 'SKEWLESS_QUALITY_INTERVAL',
    default: '5m',
    valueName: 'DURATION',
    help: '`serve` refreshes the data-quality metrics (null rate, mean, PSI per feature and window) this often, off the read path; 0s turns it off.',
  },
  qualityMaxRows: {
    flag: 'quality-max-rows',
    env: 'SKEWLESS_QUALITY_MAX_ROWS',
    default: '100000',
    valueName: 'N',
    help: 'Most history rows of a row view one statistics read takes from a window (the newest); beyond, the statistics describe the newest N and say truncated.',
  },
  qualityMaxEntities: {
    flag: 'quality-max-entities',
    env: 'SKEWLESS_QUALITY_MAX_ENTITIES',
    default: '1000',
    valueName: 'N',
    help: "Most entities of an aggregation view evaluated for one window's statistics (the most recently active).",
  },
  paritySampleRate: {
    flag: 'parity-sample-rate',
    env: 'SKEWLESS_PARITY_SAMPLE_RATE',
    default: '0.01',
    valueName: 'FRACTION',
    help: 'Fraction of online requests whose answers `serve` samples for online/offline parity (0 to 1; 0 turns sampling off). See docs/parity.md.',
  },
  parityBuffer: {
    flag: 'parity-buffer',
    env: 'SKEWLESS_PARITY_BUFFER',
    default: '10000',
    valueName: 'N',
    help: 'Most parity samples held in memory waiting to be written to the offline store; more are dropped and counted, never waited for.',
  },
  parityInterval: {
    flag: 'parity-interval',
    env: 'SKEWLESS_PARITY_INTERVAL',
    default: '1m',
    valueName: 'DURATION',
    help: '`serve` reconciles settled parity samples against the historical path this often, off the read path; 0s turns the loop off.',
  },
  paritySettle: {
    flag: 'parity-settle',
    env: 'SKEWLESS_PARITY_SETTLE',
    default: '2m',
    valueName: 'DURATION',
    help: 'How old a parity sample must be before it is judged, so the offline data for its instant has landed.',
  },
  parityRetention: {
    flag: 'parity-retention',
    env: 'SKEWLESS_PARITY_RETENTION',
    default: '7d',
    valueName: 'DURATION',
    help: 'Parity samples and their verdicts older than this are deleted by each reconciliation; 0s keeps them forever.',
  },
  logLevel: {
    flag: 'log-level',
    env: 'LOG_LEVEL',
    default: 'info',
    valueName: 'LEVEL',
    help: 'One of debug, info, warn, error.',
  },
} as const satisfies Record<string, SettingSpec>;

export type SettingName = keyof typeof SETTINGS;
