/**
 * A small HTTP server for a process that has no other: `skewless materialize` serves /metrics (its
 * Prometheus registry) and /healthz (the process is up) here. Anything else is 404.
 */
import { createServer } from 'node:http';
import type { ServerResponse } from 'node:http';
import { closeServer, listenOn } from '../server/listen.ts';
import type { Metrics } from './metrics.ts';

export interface MetricsServer {
  /** `http://host:port`, with the port actually bound (port 0 picks one). */
  readonly url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(metrics: Metrics, port: number, host: string): Promise<MetricsServer> {
  const send = (res: ServerResponse, status: number, type: string, body: string) => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(body);
  };
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path === '/healthz') return send(res, 200, 'application/json', JSON.stringify({ status: 'ok' }));
    if (path === '/metrics') {
      void metrics.render().then(
        ({ contentType, body }) => send(res, 200, contentType, body),
        (error: unknown) => send(res, 500, 'application/json', JSON.stringify({ error: String(error) })),
      );
      return;
    }
    send(res, 404, 'application/json', JSON.stringify({ error: 'not found: this server answers /metrics and /healthz' }));
  });
  const url = await listenOn(server, port, host);
  return { url, close: () => closeServer(server) };
}
