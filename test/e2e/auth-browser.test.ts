/**
 * The browser path of docs/security.md: with --auth required, a browser answering the Basic challenge with
 * an API key as the password opens the dashboard, and the page's own /graphql calls carry the credentials
 * too; without them, nothing but 401s.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, HTTPResponse } from 'puppeteer-core';
import { MemoryOnlineStore } from '../../src/stores/memory/online.ts';
import type { Stores } from '../../src/stores/open.ts';
import { pgliteOfflineStore } from '../../src/stores/pglite/offline.ts';
import { startAuthGateway } from '../helpers/auth-gateway.ts';
import type { AuthGateway } from '../helpers/auth-gateway.ts';
import { launchChromium } from '../helpers/browser.ts';
import { registryFromSdl } from '../helpers/repos.ts';

const SDL = `
type User @entity(key: ["user_id"]) { user_id: ID! }
type Stats @featureView(entity: "User") { n: Int }
`;

describe('a browser behind --auth required', () => {
  let browser: Browser;
  let stores: Stores;
  let gateway: AuthGateway;

  before(async () => {
    browser = await launchChromium();
    const registry = await registryFromSdl(SDL);
    stores = { online: new MemoryOnlineStore(), offline: await pgliteOfflineStore() };
    await stores.offline.ensureSchema(registry);
    gateway = await startAuthGateway(registry, stores, undefined, { keys: { viewer: ['ops'] } });
  });
  after(async () => {
    await browser.close();
    await gateway.close();
    await Promise.all([stores.online.close(), stores.offline.close()]);
  });

  /** Opens the dashboard and collects the status of each of its /graphql calls until the first one answers. */
  async function open(credentials?: { username: string; password: string }): Promise<{ page: number | undefined; graphql: number[] }> {
    const page = await browser.newPage();
    try {
      if (credentials !== undefined) await page.authenticate(credentials);
      const graphql: number[] = [];
      const firstCall = new Promise<void>((resolve) =>
        page.on('response', (response: HTTPResponse) => {
          if (new URL(response.url()).pathname !== '/graphql' || response.request().method() !== 'POST') return;
          graphql.push(response.status());
          resolve();
        }),
      );
      const response = await page.goto(`${gateway.base}/dashboard`, { waitUntil: 'load' });
      if (response?.status() === 200) await firstCall;
      return { page: response?.status(), graphql };
    } finally {
      await page.close();
    }
  }

  it('shows nothing without credentials: the Basic challenge has no answer and the page does not load', async () => {
    // Headless Chromium gives up where a person would see the password prompt.
    await assert.rejects(open(), /ERR_INVALID_AUTH_CREDENTIALS/);
  });

  it('opens the dashboard with the key as a Basic password, and its GraphQL calls are authenticated', async () => {
    const { page, graphql } = await open({ username: 'viewer', password: gateway.keys.viewer! });
    assert.equal(page, 200);
    assert.ok(graphql.length > 0 && graphql.every((s) => s === 200), JSON.stringify(graphql));
  });
});
