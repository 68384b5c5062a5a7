/**
 * The HTTP gateway: GraphQL (with GraphiQL) at /graphql, liveness at /healthz, readiness at /readyz (with
 * stale views in its detail), Prometheus metrics at /metrics (docs/metrics.md), the dashboard at /dashboard
 * (docs/dashboard.md: static files read once here, a client of /graphql).
 * Everything it serves was decided at start-up: the schema is built once from the registry, metrics are
 * registered once, and the online read every request's loader calls is made once.
 *
 * Every request gets an id (the caller's `x-request-id`, cleaned, or a new one), sent back as
 * `x-request-id` and carried by every log line written while it is handled (ops/request-context.ts).
 *
 * /graphql requests pass the request limits (graphql/limits/guards.ts, docs/limits.md): body size and
 * load shedding before yoga reads the body, then rate limit, trusted documents, depth and cost inside it.
 * Unexpected errors reach clients masked, with the request id, and the log with their real message.
 *
 * With --auth required every route but /healthz and /readyz (and /metrics with --metrics-auth open) is
 * authenticated before it is routed: no credentials or bad ones are a 401 with no data (docs/security.md).
 * The request's principal and grants travel in yoga's context (auth/principal.ts: principalOf, grantsOf).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createYoga } from 'graphql-yoga';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { NO_AUTH } from '../auth/gateway-auth.ts';
import type { GatewayAuth } from '../auth/gateway-auth.ts';
import { useIntrospectionPolicy } from '../auth/introspection.ts';
import { ANONYMOUS } from '../auth/principal.ts';
import type { AuthContext, RequestAuth } from '../auth/principal.ts';
import { graphqlErrorLog, maskError } from '../graphql/errors.ts';
import { createRequestGuards } from '../graphql/limits/guards.ts';
import { DEFAULT_REQUEST_LIMITS } from '../graphql/limits/options.ts';
import type { RequestLimits } from '../graphql/limits/options.ts';
import type { TrustedDocuments } from '../graphql/limits/trusted-documents.ts';
import type { RateLimitKey } from '../graphql/limits/use-rate-limit.ts';
import { useRequestMetrics } from '../graphql/metrics-plugin.ts';
import type { RequestState } from '../graphql/metrics-plugin.ts';
import { featureRefsRule } from '../graphql/validation.ts';
import type { Registry } from '../registry/registry.ts';
import { createServingContext } from '../serving/context.ts';
import type { Limits } from '../serving/context.ts';
import { createDashboard } from './dashboard.ts';
import { handleExport } from './export-route.ts';
import { closeServer, listenOn } from './listen.ts';
import { FreshnessMonitor } from '../ops/freshness-monitor.ts';
import { gatewayMetrics } from '../ops/gateway-metrics.ts';
import { checkReadiness, freshnessDetail } from '../ops/health.ts';
import type { Logger } from '../ops/log.ts';
import { createMetrics } from '../ops/metrics.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { ParitySampler } from '../ops/parity/sampler.ts';
import { observedOnlineRead } from '../ops/online-read-metrics.ts';
import { REQUEST_ID_HEADER, RequestContext, requestIdFrom } from '../ops/request-context.ts';
import type { Stores } from '../stores/open.ts';
import type { TransformPool } from '../transforms/pool.ts';

export interface GatewayOptions {
  readonly registry: Registry;
  readonly schema: GraphQLSchema;
  readonly stores: Stores;
  readonly limits: Limits;
  readonly logger: Logger;
  /** The on-demand transform sandbox (startTransforms); the gateway does not own it. */
  readonly transforms?: TransformPool | undefined;
  /** Query shown in GraphiQL when it opens. */
  readonly exampleQuery?: string;
  /** Where this gateway's metrics are recorded and read from at /metrics; a fresh registry by default. */
  readonly metrics?: Metrics;
  /**
   * Freshness of the stored views, for /readyz, /metrics and Query.freshness. Default: one reading the
   * offline store every DEFAULT_FRESHNESS_INTERVAL_MS, without Kafka lag. The gateway starts it when it
   * listens and stops it when it closes.
   */
  readonly freshness?: FreshnessMonitor;
  /** Samples a fraction of online requests for continuous parity (docs/parity.md); none when undefined. */
  readonly parity?: ParitySampler | undefined;
  /** Authentication and authorization (auth/gateway-auth.ts); default NO_AUTH: every caller anonymous and allowed everything. */
  readonly auth?: GatewayAuth;
  /** Depth, cost, body size, rate and concurrency limits (docs/limits.md); the settings' defaults when absent. */
  readonly requestLimits?: RequestLimits;
  /** When set, only these documents run (docs/limits.md#trusted-documents). */
  readonly trustedDocuments?: TrustedDocuments | undefined;
  /** What rate limits count requests by; the principal, else the client address, when absent. */
  readonly rateLimitKey?: RateLimitKey | undefined;
  /** Whether unexpected errors reach clients as "Unexpected error." (with the request id); default true. */
  readonly maskErrors?: boolean;
}

/** What the gateway hands yoga with each request: resolvers and plugins find it in their context. */
type GatewayServerContext = RequestState & AuthContext & { readonly freshness: FreshnessMonitor };

/** How often a gateway given no FreshnessMonitor reads freshness (the --freshness-interval default). */
export const DEFAULT_FRESHNESS_INTERVAL_MS = 15_000;

export interface Gateway {
  readonly server: Server;
  readonly freshness: FreshnessMonitor;
  /** Starts listening; resolves with the URL of the GraphQL endpoint. */
  listen(port: number, host: string): Promise<string>;
  close(): Promise<void>;
}

export function createGateway(options: GatewayOptions): Gateway {
  const { stores, registry, limits, transforms } = options;
  const metrics = options.metrics ?? createMetrics();
  const recorded = gatewayMetrics(metrics);
  const requests = new RequestContext(options.logger);
  // Writes through the gateway's logger with the current request's id, wherever it is called from.
  const logger = requests.logger;
  const freshness = options.freshness ?? new FreshnessMonitor(registry, stores.offline, { intervalMs: DEFAULT_FRESHNESS_INTERVAL_MS, metrics, logger });
  const readOnline = observedOnlineRead(stores.online, recorded);
  // Built per request: the instant T and the read batcher belong to one request only.
  const parity = options.parity;
  const servingContext = () => createServingContext({ registry, stores, limits, transforms, readOnline, parity });
  const rule = featureRefsRule(registry);
  const validateFeatureRefs: Plugin = { onValidate: ({ addValidationRule }) => addValidationRule(rule) };
  const auth = options.auth ?? NO_AUTH;
  const introspection = useIntrospectionPolicy(auth.introspection);
  const requestLimits = options.requestLimits ?? DEFAULT_REQUEST_LIMITS;
  const guards = createRequestGuards({
    schema: options.schema,
    registry,
    limits: requestLimits,
    maxEntities: limits.maxEntities,
    metrics,
    trustedDocuments: options.trustedDocuments,
    rateLimitKey: options.rateLimitKey,
  });
  const yoga = createYoga<GatewayServerContext>({
    schema: options.schema,
    context: servingContext,
    // Bodies with a Content-Length are refused up front (guards.admit), chunked ones by
    // useChunkedBodyLimit (among guards.plugins): yoga's own limiter wrapped every body in a stream.
    maxRequestBodySize: false,
    maskedErrors: { maskError: maskError({ expose: options.maskErrors === false, requestId: () => requests.current?.requestId }) },
    // The limits first: what they refuse is never validated further, executed or counted as executed.
    plugins: [...guards.plugins, validateFeatureRefs, ...(introspection === undefined ? [] : [introspection]), useRequestMetrics(recorded, logger)],
    graphqlEndpoint: '/graphql',
    graphiql: { title: 'Skewless', defaultQuery: options.exampleQuery },
    // Bundled GraphiQL: yoga's default page loads its code from a CDN, which air-gapped clusters (and
    // this project's CI) cannot reach.
    renderGraphiQL,
    landingPage: false,
    logging: {
      debug: (...args) => logger.debug(String(args[0]), { args: args.slice(1).map(String) }),
      info: (...args) => logger.info(String(args[0])),
      warn: (...args) => logger.warn(String(args[0])),
      error: graphqlErrorLog(logger),
    },
  });

  const dashboard = createDashboard({ onUnavailable: (reason) => logger.warn('dashboard.unavailable', { reason }) });

  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };

  const serveMetrics = (res: ServerResponse): void => {
    void metrics.render().then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
        res.end(body);
      },
      (error: unknown) => json(res, 500, { error: String(error) }),
    );
  };

  const route = (req: IncomingMessage, res: ServerResponse, requestId: string, startedAt: number): void => {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    // Open whatever --auth says: probes carry no credentials.
    if (path === '/healthz') return json(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      void checkReadiness({ online: stores.online, offline: stores.offline }).then(
        // Stale views are detail, not a reason to stop traffic (ops/health.ts).
        (report) => json(res, report.ready ? 200 : 503, { ...report, freshness: freshnessDetail(freshness.report()) }),
        (error: unknown) => json(res, 503, { ready: false, error: String(error) }),
      );
      return;
    }
    if (path === '/metrics' && auth.metricsOpen) return serveMetrics(res);
    // Without --auth required, no promise in between: the unauthenticated path is as it was.
    if (!auth.required) return routeAuthenticated(req, res, path, { requestId, startedAt, freshness, auth: ANONYMOUS });
    void auth
      .gate(req, res)
      .then((granted) => {
        if (granted !== undefined) routeAuthenticated(req, res, path, { requestId, startedAt, freshness, auth: granted });
      })
      .catch((error: unknown) => {
        logger.error('request crashed', { error: String(error) });
        res.destroy();
      });
  };

  const routeAuthenticated = (req: IncomingMessage, res: ServerResponse, path: string, state: GatewayServerContext & { readonly auth: RequestAuth }): void => {
    if (path === '/metrics') return serveMetrics(res);
    if (path === '/historical/export') {
      const end = recorded.historicalSeconds.startTimer({ route: 'export' });
      void handleExport(req, res, servingContext, logger, state.auth)
        .catch((error: unknown) => {
          logger.error('export crashed', { error: String(error) });
          res.destroy();
        })
        // A refusal, a failure before the first byte and an aborted stream all count as errors.
        .finally(() => end({ outcome: res.statusCode >= 400 || !res.writableEnded ? 'error' : 'ok' }));
      return;
    }
    if (dashboard.owns(path)) return dashboard.handle(req, res, path);
    if (path === '/') {
      res.writeHead(302, { location: '/graphql' });
      res.end();
      return;
    }
    // Load shedding and the body size limit, before the body is read (graphql/limits/guards.ts).
    guards.admit(req, res, () => yoga.handle(req, res, state));
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const startedAt = performance.now();
    const requestId = requestIdFrom(req.headers[REQUEST_ID_HEADER]);
    res.setHeader(REQUEST_ID_HEADER, requestId);
    requests.run({ requestId }, () => route(req, res, requestId, startedAt));
  };

  const server = createServer(handle);
  return {
    server,
    freshness,
    listen: async (port, host) => {
      const base = await listenOn(server, port, host);
      // Not awaited: a slow offline store must not hold the port closed. Until the first reading,
      // /readyz says checkedAt: null and no view is called stale.
      void freshness.start();
      return `${base}/graphql`;
    },
    close: () => {
      freshness.stop();
      return closeServer(server);
    },
  };
}

/** The first query GraphiQL shows: what the example repository defines. */
export const EXAMPLE_QUERY = `# Welcome to Skewless. Press the play button to list what this gateway serves.
query Registry {
  registry {
    entities { name joinKeys { name type } }
    views {
      name
      kind
      entity
      ttl
      features { ref type description }
    }
    featureServices { name features }
  }
}
`;
