/**
 * The dashboard's static files (docs/dashboard.md): `GET /dashboard` is the page, `/dashboard/app.js` and
 * `/dashboard/style.css` its script and style sheet. The page is a plain client of `/graphql`, so it shows
 * exactly what the API answers and this module holds no data of its own.
 *
 * The files are read once, when the gateway is made, and answered from memory with headers worked out
 * then: a request costs no disk read and no hashing. They are not cached for long by browsers (the
 * names carry no content hash, so an upgraded gateway must not leave an old script running against a new
 * API): `no-cache` with an ETag makes a reload one conditional request answered 304.
 *
 * The Content-Security-Policy allows only this origin's script, style sheet and GraphQL endpoint: no
 * inline script or style, no other host (the product runs air-gapped), no framing.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';

/** Where the page, script and style sheet live: next to this module. */
export const DASHBOARD_DIR = fileURLToPath(new URL('./dashboard/', import.meta.url));

export const DASHBOARD_PATH = '/dashboard';

export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  // The page names an empty icon so the browser does not ask /favicon.ico, which the gateway lacks.
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Served path → file in DASHBOARD_DIR and its content type. */
const FILES: Readonly<Record<string, { readonly file: string; readonly type: string }>> = {
  [DASHBOARD_PATH]: { file: 'index.html', type: 'text/html; charset=utf-8' },
  [`${DASHBOARD_PATH}/app.js`]: { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  [`${DASHBOARD_PATH}/style.css`]: { file: 'style.css', type: 'text/css; charset=utf-8' },
};

interface Asset {
  readonly body: Buffer;
  readonly etag: string;
  readonly headers: OutgoingHttpHeaders;
}

export interface Dashboard {
  /** Whether `path` (without its query string) is the dashboard's: the page, its files or under it. */
  owns(path: string): boolean;
  /** Answers a request for one of the dashboard's paths. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): void;
}

/**
 * Reads the dashboard's files from `dir` (default DASHBOARD_DIR). When they cannot be read (a build that
 * left them out), the dashboard answers 503 DASHBOARD_UNAVAILABLE with the reason and `onUnavailable` is
 * told once: the gateway's API does not depend on its dashboard, so it still starts.
 */
export function createDashboard(options: { readonly dir?: string; readonly onUnavailable?: (reason: string) => void } = {}): Dashboard {
  const dir = options.dir ?? DASHBOARD_DIR;
  let assets: Map<string, Asset> | undefined;
  let unavailable = '';
  try {
    assets = new Map(Object.entries(FILES).map(([served, { file, type }]) => [served, asset(readFileSync(join(dir, file)), type)]));
  } catch (error) {
    unavailable = `the dashboard's files could not be read from ${dir}: ${error instanceof Error ? error.message : String(error)}`;
    options.onUnavailable?.(unavailable);
  }

  return {
    owns: (path) => path === DASHBOARD_PATH || path.startsWith(`${DASHBOARD_PATH}/`),
    handle(req, res, path) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'METHOD_NOT_ALLOWED', 'the dashboard answers GET and HEAD', { allow: 'GET, HEAD' });
      if (path === `${DASHBOARD_PATH}/`) {
        // The page names its files relative to /dashboard (so it also works under a proxy's path prefix);
        // from /dashboard/ they would resolve one level too deep.
        res.writeHead(308, { location: `../${DASHBOARD_PATH.slice(1)}` });
        res.end();
        return;
      }
      if (assets === undefined) return refuse(res, 503, 'DASHBOARD_UNAVAILABLE', unavailable);
      const found = assets.get(path);
      if (found === undefined) return refuse(res, 404, 'NOT_FOUND', `no dashboard file at ${path}; the dashboard is ${DASHBOARD_PATH}`);
      if (matches(req.headers['if-none-match'], found.etag)) {
        res.writeHead(304, { etag: found.etag, 'cache-control': found.headers['cache-control'] });
        res.end();
        return;
      }
      res.writeHead(200, found.headers);
      res.end(req.method === 'HEAD' ? undefined : found.body);
    },
  };
}

function asset(body: Buffer, type: string): Asset {
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
  return {
    body,
    etag,
    headers: {
      'content-type': type,
      'content-length': body.length,
      'cache-control': 'no-cache',
      etag,
      'content-security-policy': DASHBOARD_CSP,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    },
  };
}

/** If-None-Match holds the ETag (or `*`), in a list or weak form as browsers and proxies send it. */
function matches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}

function refuse(res: ServerResponse, status: number, code: string, message: string, headers: OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify({ error: { code, message } }));
}
