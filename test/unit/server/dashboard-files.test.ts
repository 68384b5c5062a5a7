/**
 * The dashboard's files as the gateway serves them (src/server/dashboard.ts): content types, the
 * Content-Security-Policy, revalidation by ETag, refusals with codes, and files read once at start-up.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DASHBOARD_CSP, DASHBOARD_DIR, createDashboard } from '../../../src/server/dashboard.ts';
import type { Dashboard } from '../../../src/server/dashboard.ts';
import { closeServer, listenOn } from '../../../src/server/listen.ts';

/** A server answering the dashboard's paths the way the gateway routes them (query string dropped). */
async function serve(dashboard: Dashboard): Promise<{ base: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    if (dashboard.owns(path)) return dashboard.handle(req, res, path);
    res.writeHead(418);
    res.end();
  });
  return { base: await listenOn(server, 0, '127.0.0.1'), server };
}

describe('dashboard files', () => {
  let dir: string;
  let base: string;
  let server: Server;

  before(async () => {
    // A copy, so the test can change a file under the running server.
    dir = await mkdtemp(path.join(tmpdir(), 'skewless-dashboard-files-'));
    await cp(DASHBOARD_DIR, dir, { recursive: true });
    ({ base, server } = await serve(createDashboard({ dir })));
  });
  after(async () => {
    await closeServer(server);
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the page, its script and its style sheet with their content types under a strict policy', async () => {
    for (const [served, file, type] of [
      ['/dashboard', 'index.html', 'text/html; charset=utf-8'],
      ['/dashboard/app.js', 'app.js', 'text/javascript; charset=utf-8'],
      ['/dashboard/style.css', 'style.css', 'text/css; charset=utf-8'],
    ] as const) {
      const res = await fetch(`${base}${served}?ignored=1`);
      assert.equal(res.status, 200, served);
      assert.equal(res.headers.get('content-type'), type);
      assert.equal(await res.text(), await readFile(path.join(DASHBOARD_DIR, file), 'utf8'));
      assert.equal(res.headers.get('content-security-policy'), DASHBOARD_CSP);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('cache-control'), 'no-cache');
      assert.match(res.headers.get('etag') ?? '', /^"[A-Za-z0-9_-]{22}"$/);
    }
    const policy = new Map(DASHBOARD_CSP.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1).join(' ')]));
    assert.equal(policy.get('default-src'), "'none'");
    assert.equal(policy.get('script-src'), "'self'", 'no inline script, no other host');
    assert.equal(policy.get('connect-src'), "'self'");
    assert.equal(policy.get('frame-ancestors'), "'none'");
  });

  it('answers 304 to a request carrying the current ETag, in any form a client sends it', async () => {
    const etag = (await fetch(`${base}/dashboard/app.js`)).headers.get('etag')!;
    for (const header of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const res = await fetch(`${base}/dashboard/app.js`, { headers: { 'if-none-match': header } });
      assert.equal(res.status, 304, header);
      assert.equal(res.headers.get('etag'), etag);
      assert.equal(await res.text(), '');
    }
    const stale = await fetch(`${base}/dashboard/app.js`, { headers: { 'if-none-match': '"an-older-version"' } });
    assert.equal(stale.status, 200);
  });

  it('answers HEAD with the headers and no body', async () => {
    const res = await fetch(`${base}/dashboard`, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(Number(res.headers.get('content-length')), (await readFile(path.join(DASHBOARD_DIR, 'index.html'))).length);
    assert.equal(await res.text(), '');
  });

  it('refuses other methods and unknown files with a code', async () => {
    const post = await fetch(`${base}/dashboard`, { method: 'POST', body: '{}' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    assert.equal(((await post.json()) as { error: { code: string } }).error.code, 'METHOD_NOT_ALLOWED');
    const missing = await fetch(`${base}/dashboard/secrets.txt`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
    const traversal = await fetch(`${base}/dashboard/..%2Fdashboard.ts`);
    assert.equal(traversal.status, 404, 'only the three files are served, whatever the path');
  });

  it('sends /dashboard/ to /dashboard, where the relative file names resolve', async () => {
    const res = await fetch(`${base}/dashboard/`, { redirect: 'manual' });
    assert.equal(res.status, 308);
    assert.equal(new URL(res.headers.get('location')!, `${base}/dashboard/`).href, `${base}/dashboard`);
  });

  it('reads the files once, when made: a change on disk is not served until the gateway restarts', async () => {
    const before = await (await fetch(`${base}/dashboard/style.css`)).text();
    await writeFile(path.join(dir, 'style.css'), 'body { color: red; }');
    assert.equal(await (await fetch(`${base}/dashboard/style.css`)).text(), before);
  });
});

describe('dashboard files missing', () => {
  it('answers 503 DASHBOARD_UNAVAILABLE, and says why once, when made', async () => {
    const reasons: string[] = [];
    const { base, server } = await serve(createDashboard({ dir: path.join(tmpdir(), 'skewless-no-such-dashboard'), onUnavailable: (reason) => reasons.push(reason) }));
    try {
      for (let i = 0; i < 2; i++) {
        const res = await fetch(`${base}/dashboard`);
        assert.equal(res.status, 503);
        const body = (await res.json()) as { error: { code: string; message: string } };
        assert.equal(body.error.code, 'DASHBOARD_UNAVAILABLE');
        assert.match(body.error.message, /skewless-no-such-dashboard/);
      }
      assert.equal(reasons.length, 1);
    } finally {
      await closeServer(server);
    }
  });
});
