/**
 * The registry's domain model: what `schema/*.graphql` and `transforms/*.ts` define, after validation.
 *
 * Everything here is plain, deeply frozen data. It is the single definition every other part reads: the
 * served GraphQL schema, the online and historical paths, the materializer.
 */

/** Where a definition was written, for error messages (1-based line and column). */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** Scalar types a feature, source field, join key or request field may have. */
export type ScalarType = 'Int' | 'Float' | 'String' | 'Boolean' | 'ID' | 'DateTime' | 'JSON';

export const SCALAR_TYPES: readonly ScalarType[] = ['Int', 'Float', 'String', 'Boolean', 'ID', 'DateTime', 'JSON'];

/** Scalars a join key may have: they must encode to a stable string key. */
export const JOIN_KEY_TYPES: readonly ScalarType[] = ['ID', 'String', 'Int'];

/** Numeric scalars, the only ones SUM, AVG, STDDEV, VARIANCE and APPROX_PERCENTILE accept. */
export const NUMERIC_TYPES: readonly ScalarType[] = ['Int', 'Float'];

/**
 * A field's type: a scalar, or a list of a scalar (embeddings, small categorical sets). `nullable` is the
 * value's own nullability as declared (`Float!` → false); a served value can still be null when it is
 * missing or expired, which its status explains.
 */
export interface FieldType {
  readonly scalar: ScalarType;
  readonly list: boolean;
  readonly nullable: boolean;
}

/** A field of a source or request type, or a join key. */
export interface Field {
  readonly name: string;
  readonly type: FieldType;
  readonly description: string | undefined;
  readonly loc: SourceLocation;
}

/** Something features are about (a user, a merchant), identified by its join keys. */
export interface Entity {
  readonly name: string;
  readonly typeName: string;
  readonly description: string | undefined;
  readonly joinKeys: readonly Field[];
  readonly loc: SourceLocation;
}

/** A stream of raw events on a Kafka topic, e.g. card transactions. */
export interface EventSource {
  readonly name: string;
  readonly typeName: string;
  readonly description: string | undefined;
  readonly topic: string;
  /** The DateTime field holding each event's time. */
  readonly timestampField: string;
  readonly fields: readonly Field[];
  readonly loc: SourceLocation;
}

export const AGGREGATE_FUNCTIONS = [
  'COUNT',
  'SUM',
  'AVG',
  'MIN',
  'MAX',
  'STDDEV',
  'VARIANCE',
  'FIRST',
  'LAST',
  'COUNT_DISTINCT',
  'APPROX_COUNT_DISTINCT',
  'APPROX_PERCENTILE',
] as const;

export type AggregateFunction = (typeof AGGREGATE_FUNCTIONS)[number];

/** How an aggregation feature is computed from its view's source events. */
export interface Aggregation {
  readonly fn: AggregateFunction;
  /** The source field aggregated; undefined only for COUNT. */
  readonly of: string | undefined;
  readonly window: string;
  readonly windowMs: number;
  readonly hop: string;
  readonly hopMs: number;
  /**
   * Width of the slices the online store keeps the head tile in (`slice`, by default about a sixtieth of
   * the hop): a read folds the raw events of one slice. Equal to the hop when the head is not sliced.
   */
  readonly slice: string;
  readonly sliceMs: number;
  /** For APPROX_PERCENTILE: the quantile in (0, 1). */
  readonly percentile: number | undefined;
}

export interface Feature {
  readonly name: string;
  /** `view:feature`. */
  readonly ref: string;
  readonly type: FieldType;
  readonly description: string | undefined;
  /** From `@deprecated(reason:)`; shown in introspection. */
  readonly deprecationReason: string | undefined;
  readonly aggregation: Aggregation | undefined;
  readonly loc: SourceLocation;
}

export type ViewKind = 'row' | 'aggregation' | 'onDemand';

interface ViewCommon {
  readonly name: string;
  readonly typeName: string;
  readonly description: string | undefined;
  readonly owner: string | undefined;
  readonly tags: readonly string[];
  readonly features: readonly Feature[];
  /** Entities whose keys identify a row of this view; one for stored views, the inputs' union on demand. */
  readonly entities: readonly string[];
  readonly loc: SourceLocation;
}

/** What row and aggregation views share: they are stored, so they can fall behind. */
interface StoredViewCommon extends ViewCommon {
  /**
   * How old the view's newest value may get before the view is reported stale (ops/freshness.ts), as
   * written and in ms; undefined when the schema expects nothing.
   */
  readonly freshness: string | undefined;
  readonly freshnessMs: number | undefined;
}

/** Precomputed values pushed (or streamed) as rows with event and created timestamps. */
export interface RowView extends StoredViewCommon {
  readonly kind: 'row';
  readonly entity: string;
  /** Values older than T − ttl are not served; undefined means no lower bound. */
  readonly ttl: string | undefined;
  readonly ttlMs: number | undefined;
  /** Kafka topic carrying precomputed rows for this view, if any. */
  readonly topic: string | undefined;
}

/** Windowed aggregations over a source's events. */
export interface AggregationView extends StoredViewCommon {
  readonly kind: 'aggregation';
  readonly entity: string;
  readonly source: string;
  readonly ttl: string | undefined;
  readonly ttlMs: number | undefined;
}

/** The sandboxed code of an on-demand view: `transforms/<name>.ts`. */
export interface Transform {
  readonly name: string;
  readonly path: string;
  /** sha256 of the file's bytes; recorded with every value the transform produces. */
  readonly sha256: string;
  /** The TypeScript source, compiled into the sandbox at start-up. */
  readonly source: string;
}

/** Request-time features computed by a transform from other views' features and request fields. */
export interface OnDemandView extends ViewCommon {
  readonly kind: 'onDemand';
  readonly transform: Transform;
  /** Names of the views whose features the transform reads. */
  readonly inputs: readonly string[];
  /** Name of the input type carrying request fields, if any. */
  readonly request: string | undefined;
}

export type FeatureView = RowView | AggregationView | OnDemandView;

/** Fields supplied by the caller at request time (online) or as entity-row columns (historical). */
export interface RequestType {
  readonly name: string;
  readonly description: string | undefined;
  readonly fields: readonly Field[];
  readonly loc: SourceLocation;
}

/** A named set of features a model reads, so clients ask for `fraud_model_v1` rather than a list. */
export interface FeatureService {
  readonly name: string;
  readonly typeName: string;
  readonly description: string | undefined;
  readonly owner: string | undefined;
  readonly tags: readonly string[];
  /** Expanded feature refs (`view:feature`), in declaration order, without duplicates. */
  readonly features: readonly string[];
  readonly loc: SourceLocation;
}
