/**
 * `skewless serve` applies the limit settings it is given: a trusted-documents list (and refuses to start
 * on a bad one, naming every problem), --max-cost and --max-body, on the example repository.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sha256Hex } from '../../src/graphql/limits/trusted-documents.ts';
import { runCli, startGateway } from '../helpers/cli.ts';
import type { RunningGateway } from '../helpers/cli.ts';
import { postJson } from '../helpers/limited-gateway.ts';

const TRUSTED = 'query Stats($id: ID!) { user(user_id: $id) { user_txn_stats { _meta { status } } } }';
const COSTLY = 'query Costly { onlineFeatures(service: "fraud_model_v1", entities: [{user_id: "u1", merchant_id: "m1"}]) { rows } }';

describe('skewless serve with limits', () => {
  let dir: string;
  let gateway: RunningGateway;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skewless-limits-'));
    await writeFile(path.join(dir, 'trusted.json'), JSON.stringify({ [sha256Hex(TRUSTED)]: TRUSTED, [sha256Hex(COSTLY)]: COSTLY }));
    gateway = await startGateway(['--trusted-documents', path.join(dir, 'trusted.json'), '--max-cost', '2', '--max-body', '1kb']);
  });

  after(async () => {
    assert.equal(await gateway.stop(), 0);
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a trusted document by hash and refuses any other', async () => {
    const byHash = await postJson(gateway.base, { variables: { id: 'u1' }, extensions: { persistedQuery: { version: 1, sha256Hash: sha256Hex(TRUSTED) } } });
    assert.deepEqual(byHash.body, { data: { user: { user_txn_stats: { _meta: { status: 'NOT_FOUND' } } } } });
    const other = await postJson(gateway.base, { query: '{ registry { views { name } } }' });
    assert.deepEqual([other.status, other.body.errors?.[0]?.extensions?.code], [403, 'UNTRUSTED_DOCUMENT']);
  });

  it('applies --max-cost and --max-body', async () => {
    const costly = await postJson(gateway.base, { query: COSTLY });
    assert.equal(costly.body.errors?.[0]?.extensions?.code, 'QUERY_TOO_COSTLY');
    assert.equal(costly.body.errors?.[0]?.extensions?.limit, 2);
    const large = await fetch(`${gateway.base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: TRUSTED, variables: { id: 'x'.repeat(2000) } }) });
    assert.equal(large.status, 413);
  });

  it('refuses to start on a trusted-documents file that does not check out, naming the problem', async () => {
    const bad = path.join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ [sha256Hex('{ a }')]: '{ b }' }));
    const result = await runCli(['serve', '--port', '0', '--trusted-documents', bad]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, new RegExp(`trusted documents .*bad\\.json:\\n  ${sha256Hex('{ a }')}: is not the SHA-256 of its document`));
  });
});
