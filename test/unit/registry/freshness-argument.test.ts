/** @featureView(freshness:): how old a view's newest value may get before it is reported stale. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildRegistry } from '../../../src/registry/build.ts';
import { readSchemaFiles } from '../../../src/registry/sdl.ts';

const build = (text: string) => {
  const { decls, problems } = readSchemaFiles([{ path: 'fresh.graphql', text }]);
  return buildRegistry(decls, [], problems);
};

const HEAD = `type User @entity(key: ["user_id"]) { user_id: ID! }
type Txn @source(topic: "t", timestamp: "at") { user_id: ID! at: DateTime! }
`;

describe('@featureView(freshness:)', () => {
  it('is read as written and in milliseconds, on row and aggregation views', () => {
    const result = build(`${HEAD}type Stats @featureView(entity: "User", freshness: "1h30m") { n: Int }
type Counts @featureView(entity: "User", source: "Txn", freshness: "90s") { c: Int! @aggregate(fn: COUNT, window: "1d") }
type Plain @featureView(entity: "User") { n: Int }`);
    assert.ok(result.ok);
    const view = (name: string) => result.registry.view(name) as { freshness: string | undefined; freshnessMs: number | undefined };
    assert.deepEqual([view('stats').freshness, view('stats').freshnessMs], ['1h30m', 5_400_000]);
    assert.deepEqual([view('counts').freshness, view('counts').freshnessMs], ['90s', 90_000]);
    assert.deepEqual([view('plain').freshness, view('plain').freshnessMs], [undefined, undefined]);
  });

  it('must be a positive duration: each bad one is a problem at its argument, all reported at once', () => {
    const result = build(`${HEAD}type A @featureView(entity: "User", freshness: "soon") { n: Int }
type B @featureView(entity: "User", freshness: "0") { n: Int }
type C @featureView(entity: "User", freshness: "15 m") { n: Int }
type D @featureView(entity: "User", freshness: 15) { n: Int }`);
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.deepEqual(
      result.problems.map((p) => `${p.code} ${p.loc.line}:${p.loc.column}`),
      ['INVALID_ARGUMENT 3:37', 'INVALID_ARGUMENT 4:37', 'INVALID_ARGUMENT 5:37', 'INVALID_ARGUMENT 6:37'],
    );
    assert.match(result.problems[0]!.message, /freshness:\) "soon" is not a positive duration such as "15m"/);
    assert.match(result.problems[3]!.message, /must be a string/);
  });

  it('is not an argument of @onDemand', () => {
    const { decls, problems } = readSchemaFiles([{ path: 'x.graphql', text: `${HEAD}type S @featureView(entity: "User") { n: Int }
type O @onDemand(transform: "noop", inputs: ["s"], freshness: "1m") { x: Float }` }]);
    const result = buildRegistry(decls, [{ name: 'noop', path: 'noop.ts', sha256: '', source: 'export default function noop() { return {}; }' }], problems);
    assert.equal(result.ok, false);
    if (!result.ok) assert.deepEqual(result.problems.map((p) => p.code), ['UNKNOWN_ARGUMENT']);
  });
});
