/**
 * The HTTP gateway: GraphQL (with GraphiQL) at /graphql, liveness at /healthz, readiness at /readyz,
 * Prometheus metrics at /metrics.
 * Everything it serves was decided at start-up: the schema is built once from the registry.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createYoga } from 'graphql-yoga';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { featureRefsRule } from '../graphql/validation.ts';
import type { Registry } from '../registry/registry.ts';
import { createServingContext } from '../serving/context.ts';
import type { Limits } from '../serving/context.ts';
import { handleExport } from './export-route.ts';
import { checkReadiness } from '../ops/health.ts';
import type { Logger } from '../ops/log.ts';
import { createMetrics } from '../ops/metrics.ts';
import type { Metrics } from '../ops/metrics.ts';
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
}

export interface Gateway {
  readonly server: Server;
  /** Starts listening; resolves with the URL of the GraphQL endpoint. */
  listen(port: number, host: string): Promise<string>;
  close(): Promise<void>;
}

export function createGateway(options: GatewayOptions): Gateway {
  const { logger, stores, registry, limits, transforms } = options;
  const metrics = options.metrics ?? createMetrics();
  const rule = featureRefsRule(registry);
  const validateFeatureRefs: Plugin = { onValidate: ({ addValidationRule }) => addValidationRule(rule) };
  const yoga = createYoga({
    schema: options.schema,
    // Built per request: the instant T and the read batcher belong to one request only.
    context: () => createServingContext({ registry, stores, limits, transforms }),
    plugins: [validateFeatureRefs],
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
      error: (...args) => logger.error(String(args[0]), { error: args.slice(1).map(String) }),
    },
  });

  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path === '/healthz') return json(res, 200, { status: 'ok' });
    if (path === '/metrics') {
      void metrics.render().then(
        ({ contentType, body }) => {
          res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
          res.end(body);
        },
        (error: unknown) => json(res, 500, { error: String(error) }),
      );
      return;
    }
    if (path === '/readyz') {
      void checkReadiness({ online: stores.online, offline: stores.offline }).then(
        (report) => json(res, report.ready ? 200 : 503, report),
        (error: unknown) => json(res, 503, { ready: false, error: String(error) }),
      );
      return;
    }
    if (path === '/historical/export') {
      void handleExport(req, res, () => createServingContext({ registry, stores, limits, transforms }), logger).catch((error: unknown) => {
        logger.error('export crashed', { error: String(error) });
        res.destroy();
      });
      return;
    }
    if (path === '/') {
      res.writeHead(302, { location: '/graphql' });
      res.end();
      return;
    }
    void yoga.handle(req, res);
  };

  const server = createServer(handle);
  return {
    server,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolve(`http://${shownHost}:${address.port}/graphql`);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
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
