/**
 * Continuous parity, the online half: a configurable fraction of online requests is sampled, and what they
 * served — T, the entity keys, each feature's value and status, the transforms' hashes — is written to the
 * offline store for the reconciler (reconcile.ts) to replay through the historical path.
 *
 * The request path pays one random draw per request. A sampled request records references into an
 * in-memory buffer (no copying, no encoding, no I/O); the buffer is written in batches by a timer, off the
 * request path. The buffer is bounded: when it is full a sample is dropped and counted, and the request
 * neither waits nor fails. A failed write drops its batch (counted, logged) rather than holding memory for
 * a store that may stay down.
 *
 * One place sees both kinds of online read: the request's online loader (serving/online-loader.ts), which
 * `onlineFeatures` and the typed entity fields both read through. The recorder wraps its batch read, so
 * every (view, entity) the request read is sampled once, whichever field asked. On-demand values are
 * recorded where they are computed: by onlineFrame, and by the typed fields' on-demand loader.
 */
import type { Metrics } from '../metrics.ts';
import type { Logger } from '../log.ts';
import type { Registry } from '../../registry/registry.ts';
import type { OnDemandView } from '../../registry/types.ts';
import type { RowKeys } from '../../serving/entity-rows.ts';
import type { OnDemandLoader, OnDemandRow } from '../../serving/on-demand-loader.ts';
import type { OnlineRead } from '../../serving/online-loader.ts';
import type { ViewValue } from '../../serving/value-at.ts';
import type { OfflineStore, OnlineStore } from '../../stores/types.ts';
import type { RequestColumns } from '../../transforms/evaluate.ts';
import type { OnDemandPlan } from '../../transforms/plan.ts';
import { parityMetrics } from './metrics.ts';
import type { ParityMetrics } from './metrics.ts';
import { joinKeys, sampleRow } from './samples.ts';
import type { PendingSample } from './samples.ts';
import { insertSamplesSql } from './tables.ts';
import type { SampleRow } from './tables.ts';

export interface ParitySamplerOptions {
  readonly registry: Registry;
  /** Where samples go: the offline store (only its `query` is used). */
  readonly offline: Pick<OfflineStore, 'query'>;
  /** Fraction of online requests sampled, 0 (none) to 1 (all): --parity-sample-rate, default 0.01. */
  readonly rate: number;
  /** Most samples held in memory waiting to be written: --parity-buffer, default 10000. */
  readonly bufferSize: number;
  readonly metrics: Metrics;
  readonly logger?: Logger | undefined;
  /** The per-request draw; Math.random by default, injectable for tests. */
  readonly random?: () => number;
  /** How long a sample may wait before its batch is written, ms. Default 1000. */
  readonly flushEveryMs?: number;
}

/** Samples per INSERT: one statement and one round trip each. */
const FLUSH_ROWS = 500;

export class ParitySampler {
  readonly #registry: Registry;
  readonly #offline: Pick<OfflineStore, 'query'>;
  readonly #rate: number;
  readonly #bufferSize: number;
  readonly #random: () => number;
  readonly #flushEveryMs: number;
  readonly #metrics: ParityMetrics;
  readonly #logger: Logger | undefined;
  readonly #record = (sample: PendingSample): void => this.#add(sample);
  #buffer: PendingSample[] = [];
  #timer: NodeJS.Timeout | undefined;
  #draining: Promise<void> | undefined;
  #closed = false;

  constructor(options: ParitySamplerOptions) {
    if (!(options.rate >= 0 && options.rate <= 1)) throw new RangeError(`parity sample rate must be within [0, 1], got ${options.rate}`);
    this.#registry = options.registry;
    this.#offline = options.offline;
    this.#rate = options.rate;
    this.#bufferSize = options.bufferSize;
    this.#random = options.random ?? Math.random;
    this.#flushEveryMs = options.flushEveryMs ?? 1000;
    this.#metrics = parityMetrics(options.metrics);
    this.#logger = options.logger;
  }

  /** The per-request decision: a recorder for a sampled request, undefined (the common case) otherwise. */
  begin(asOf: number): ParityRecorder | undefined {
    if (this.#rate === 0 || this.#closed || (this.#rate < 1 && this.#random() >= this.#rate)) return undefined;
    return new ParityRecorder(this.#registry, asOf, this.#record);
  }

  /** Samples waiting to be written. */
  get buffered(): number {
    return this.#buffer.length;
  }

  /** Writes everything buffered so far (and whatever arrives meanwhile); resolves when it is written or dropped. */
  flush(): Promise<void> {
    this.#draining ??= this.#drain().finally(() => (this.#draining = undefined));
    return this.#draining;
  }

  /** Stops sampling and writes what is left. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  #add(sample: PendingSample): void {
    if (this.#buffer.length >= this.#bufferSize) {
      this.#metrics.dropped.inc({ reason: 'buffer_full' });
      return;
    }
    this.#metrics.taken.inc();
    this.#buffer.push(sample);
    if (this.#buffer.length >= FLUSH_ROWS) {
      // A full batch goes now, but after the request's own work: never inside the request's call.
      if (this.#draining === undefined) setImmediate(() => void this.flush());
    } else {
      this.#timer ??= setTimeout(() => {
        this.#timer = undefined;
        void this.flush();
      }, this.#flushEveryMs).unref();
    }
  }

  async #drain(): Promise<void> {
    while (this.#buffer.length > 0) {
      const batch = this.#buffer.splice(0, FLUSH_ROWS);
      let rows: SampleRow[] = [];
      try {
        rows = batch.map((p) => sampleRow(this.#registry, p)).filter((r): r is SampleRow => r !== undefined);
        this.#metrics.dropped.inc({ reason: 'error' }, batch.length - rows.length);
        if (rows.length === 0) continue;
        const { sql, params } = insertSamplesSql(rows);
        await this.#offline.query(sql, params);
        this.#metrics.written.inc(rows.length);
      } catch (error) {
        this.#metrics.dropped.inc({ reason: 'write_failed' }, rows.length === 0 ? batch.length : rows.length);
        this.#logger?.warn('parity.samples_dropped', { samples: batch.length, error: error instanceof Error ? error.message : String(error) });
      }
    }
  }
}

/**
 * One sampled request's recorder, made at context creation with the request's T. Everything it does is
 * keep references; the sampler does the rest later.
 */
export class ParityRecorder {
  readonly asOf: number;
  readonly #registry: Registry;
  readonly #record: (sample: PendingSample) => void;
  /** On-demand rows already recorded: a row asked for twice in one request is one sample. */
  readonly #seen = new Set<string>();

  constructor(registry: Registry, asOf: number, record: (sample: PendingSample) => void) {
    this.#registry = registry;
    this.asOf = asOf;
    this.#record = record;
  }

  /** The online batch read as this request makes it: every entry read becomes a sample (errors do not). */
  observe(read: OnlineRead | OnlineStore): OnlineRead {
    return async (keys) => {
      const entries = await (typeof read === 'function' ? read(keys) : read.read(keys));
      entries.forEach((entry, i) => {
        if (!(entry instanceof Error)) this.#record({ kind: 'read', asOf: this.asOf, key: keys[i]!, entry });
      });
      return entries;
    };
  }

  /** The typed fields' on-demand loader, recording every value it answers with. */
  observeOnDemand(loader: OnDemandLoader): OnDemandLoader {
    const load = loader.load.bind(loader);
    return Object.assign(Object.create(loader) as OnDemandLoader, {
      load: async (row: OnDemandRow) => {
        const value = await load(row);
        const keys = typedRowKeys(this.#registry, row);
        if (keys !== undefined) this.computed(row.view, keys, Object.fromEntries(Object.entries(row.request).map(([name, values]) => [name, values[0]])), value);
        return value;
      },
    });
  }

  /** One on-demand row's value, with the join keys and request fields it was computed for. */
  computed(view: OnDemandView, keys: Readonly<Record<string, string>>, request: Readonly<Record<string, unknown>>, value: ViewValue): void {
    const id = `${view.name}\u0000${JSON.stringify(keys)}\u0000${JSON.stringify(request)}`;
    if (this.#seen.has(id)) return;
    this.#seen.add(id);
    this.#record({ kind: 'computed', asOf: this.asOf, view, keys, request, value });
  }

  /** Every on-demand value of an onlineFeatures frame: per step of the plan, per entity row. */
  frame(plan: OnDemandPlan, keys: readonly RowKeys[], request: RequestColumns, computed: readonly (readonly ViewValue[])[]): void {
    plan.views.forEach((view, s) => {
      keys.forEach((rowKeys, r) => {
        const joined: Record<string, string> = {};
        for (const name of view.entities) {
          const entity = this.#registry.entity(name)!;
          entity.joinKeys.forEach((k, i) => (joined[k.name] = rowKeys.get(name)!.values[i]!));
        }
        const fields: Record<string, unknown> = {};
        for (const { field } of plan.requestFields) fields[field.name] = request[field.name]![r];
        this.computed(view, joined, fields, computed[s]![r]!);
      });
    });
  }
}

/**
 * The join keys of a typed field's on-demand row. The row names its entities only inside its cache id,
 * `<view>\0<JSON of entity → canonical key>\0<JSON of request>` (graphql/on-demand-fields.ts); a test pins
 * the format (test/e2e/parity.suite.ts), and an id that does not parse is not sampled rather than misread.
 */
function typedRowKeys(registry: Registry, row: OnDemandRow): Record<string, string> | undefined {
  const parts = row.id.split('\u0000');
  if (parts.length !== 3 || parts[0] !== row.view.name) return undefined;
  let byEntity: unknown;
  try {
    byEntity = JSON.parse(parts[1]!);
  } catch {
    return undefined;
  }
  const keys: Record<string, string> = {};
  for (const name of row.view.entities) {
    const canonical = (byEntity as Record<string, unknown> | null)?.[name];
    const entity = registry.entity(name);
    if (typeof canonical !== 'string' || entity === undefined) return undefined;
    Object.assign(keys, joinKeys(entity.joinKeys, canonical));
  }
  return keys;
}
