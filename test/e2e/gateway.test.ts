/**
 * End to end over HTTP: `skewless serve` on the embedded defaults describes the example repository through
 * introspection and Query.registry, and answers liveness and readiness.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getIntrospectionQuery } from 'graphql';
import type { Registry } from '../../src/registry/registry.ts';
import { postGraphQL, startGateway } from '../helpers/cli.ts';
import type { RunningGateway } from '../helpers/cli.ts';
import { EXAMPLE_DIRS } from '../helpers/paths.ts';
import { loadFixtureRegistry } from '../helpers/repos.ts';

describe('gateway on embedded stores', () => {
  let gateway: RunningGateway;
  let registry: Registry;

  before(async () => {
    registry = await loadFixtureRegistry(EXAMPLE_DIRS);
    gateway = await startGateway();
  });

  after(async () => {
    assert.equal(await gateway.stop(), 0, 'stops cleanly on SIGTERM');
  });

  it('says which stores it uses when it starts', () => {
    assert.equal(gateway.started.onlineStore, 'memory (embedded)');
    assert.equal(gateway.started.offlineStore, 'pglite (embedded, in memory)');
  });

  it('shows every view and feature with its type and description in introspection', async () => {
    const { status, body } = await postGraphQL(gateway.base, getIntrospectionQuery({ descriptions: true }));
    assert.equal(status, 200);
    type IntrospectedField = { name: string; description: string | null; type: { name: string | null } };
    type IntrospectedType = { name: string; description: string | null; fields: IntrospectedField[] | null };
    const types = new Map<string, IntrospectedType>(body.data!.__schema.types.map((t: IntrospectedType) => [t.name, t]));
    for (const view of registry.views) {
      const type = types.get(view.typeName);
      assert.ok(type, `introspection has no ${view.typeName}`);
      assert.equal(type.description, view.description ?? null);
      for (const feature of view.features) {
        const field: IntrospectedField | undefined = type.fields?.find((f) => f.name === feature.name);
        assert.ok(field, `${view.typeName}.${feature.name}`);
        assert.equal(field.description, feature.description ?? null);
        assert.equal(field.type.name, feature.type.scalar);
      }
    }
    for (const entity of registry.entities) {
      const fields = types.get(entity.typeName)?.fields?.map((f) => f.name) ?? [];
      for (const view of registry.viewsOf(entity.name)) assert.ok(fields.includes(view.name), `${entity.name}.${view.name}`);
    }
  });

  it('lists the example views and features in Query.registry', async () => {
    const { body } = await postGraphQL(gateway.base, '{ registry { views { name kind entity ttl features { ref type } } featureServices { name features } } }');
    assert.equal(body.errors, undefined);
    const views = body.data!.registry.views as { name: string; kind: string; features: { ref: string }[] }[];
    assert.deepEqual(views.map((v) => v.name).sort(), ['merchant_baseline', 'txn_signals', 'user_txn_stats', 'user_txn_windows']);
    assert.deepEqual(
      views.flatMap((v) => v.features.map((f) => f.ref)).sort(),
      registry.featureRefs().sort(),
    );
    assert.deepEqual(body.data!.registry.featureServices.map((s: { name: string }) => s.name), ['fraud_model_v1']);
  });

  it('answers liveness and readiness', async () => {
    const live = await fetch(`${gateway.base}/healthz`);
    assert.equal(live.status, 200);
    assert.deepEqual(await live.json(), { status: 'ok' });
    const ready = await fetch(`${gateway.base}/readyz`);
    assert.equal(ready.status, 200);
    const { freshness, ...rest } = (await ready.json()) as { freshness: { stale: unknown[] } };
    assert.deepEqual(rest, {
      ready: true,
      checks: { online: { ok: true, kind: 'memory' }, offline: { ok: true, kind: 'pglite' } },
    });
    assert.deepEqual(freshness.stale, [], 'no view declares a freshness it misses');
  });

  it('serves GraphiQL to browsers at /graphql', async () => {
    const res = await fetch(`${gateway.base}/graphql`, { headers: { accept: 'text/html' } });
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /<title>Skewless<\/title>/);
    assert.doesNotMatch(html, /<script[^>]+src=["']?https?:/, 'GraphiQL works offline: no scripts from a CDN');
  });

  it('rejects an unknown field with a validation error and keeps serving', async () => {
    const bad = await postGraphQL(gateway.base, '{ registry { nope } }');
    assert.match(bad.body.errors?.[0]?.message ?? '', /Cannot query field "nope"/);
    const good = await postGraphQL(gateway.base, '{ registry { entities { name } } }');
    assert.equal(good.body.errors, undefined);
  });
});
