/**
 * The commands as a user runs them: `skewless auth create-key` prints a key once and its line, and
 * `skewless serve --auth required --api-keys FILE` admits that key and nothing else; a gateway told to
 * require credentials without saying which refuses to start.
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { call } from '../helpers/auth-gateway.ts';
import { embeddedEnv, runCli, startGateway } from '../helpers/cli.ts';

describe('skewless auth and serve --auth required', () => {
  it('makes a key the gateway then admits, and refuses requests without it', async () => {
    const made = await runCli(['auth', 'create-key', 'fraud-app', '--roles', 'reader,fraud']);
    assert.equal(made.code, 0, made.stderr);
    const [key, line, ...rest] = made.stdout.trimEnd().split('\n');
    assert.equal(rest.length, 0);
    assert.match(key!, /^skw_fraud-app_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(Object.keys(JSON.parse(line!)), ['id', 'hash', 'roles']);
    assert.deepEqual(JSON.parse(line!).roles, ['reader', 'fraud']);
    assert.match(made.stderr, /shown only this once/);

    const dir = await mkdtemp(path.join(tmpdir(), 'skewless-auth-cli-'));
    const keys = path.join(dir, 'keys.jsonl');
    await writeFile(keys, `${line}\n`);
    const gateway = await startGateway(['--auth', 'required', '--api-keys', keys]);
    try {
      const query = { query: '{ registry { views { name } } }' };
      const refused = await call(gateway.base, '/graphql', { body: query });
      assert.equal(refused.status, 401);
      assert.equal(JSON.parse(refused.text).error.code, 'UNAUTHENTICATED');
      const served = await call(gateway.base, '/graphql', { body: query, credential: key });
      assert.equal(served.status, 200);
      assert.ok((JSON.parse(served.text) as { data: { registry: { views: { name: string }[] } } }).data.registry.views.some((v) => v.name === 'user_txn_stats'));
      assert.equal((await call(gateway.base, '/healthz')).status, 200);
    } finally {
      await gateway.stop();
    }
  });

  it('refuses to start with --auth required and no credentials to accept, or with an unreadable key file', async () => {
    const none = await runCli(['serve', '--port', '0', '--auth', 'required'], embeddedEnv());
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--auth \/ SKEWLESS_AUTH \(from flag --auth\): expected none, or required with --api-keys FILE/);
    const missing = await runCli(['serve', '--port', '0', '--auth', 'required', '--api-keys', '/nonexistent/keys.jsonl'], embeddedEnv());
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--api-keys \/nonexistent\/keys\.jsonl: ENOENT/);
  });

  it('refuses a bad command line', async () => {
    const bad = await runCli(['auth', 'create-key']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /usage: skewless auth create-key ID/);
  });
});
