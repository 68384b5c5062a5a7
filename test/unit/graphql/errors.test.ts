/**
 * Error masking: GraphQL errors and SkewlessErrors reach clients with their code and message; anything
 * else is "Unexpected error." with code INTERNAL and the request id, and its real message goes to the log.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GraphQLError } from 'graphql';
import { SkewlessError } from '../../../src/errors.ts';
import { graphqlErrorLog, maskError, toGraphQLError } from '../../../src/graphql/errors.ts';
import { createLogger } from '../../../src/ops/log.ts';

const masked = maskError({ expose: false, requestId: () => 'req-1' });

describe('maskError', () => {
  it('passes GraphQL errors through unchanged, coded ones and wrapped ones included', () => {
    const validation = new GraphQLError('Cannot query field "x"', { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    assert.equal(masked(validation, 'Unexpected error.'), validation);
    const coded = toGraphQLError(new SkewlessError('TOO_MANY_ENTITIES', 'too many'));
    const located = new GraphQLError(coded.message, { path: ['a'], originalError: coded });
    assert.equal(masked(located, 'Unexpected error.'), located);
  });

  it('gives a SkewlessError a resolver let escape its code and message, at its path', () => {
    const escaped = new GraphQLError('wrapped', { path: ['user', 'stats'], originalError: new SkewlessError('ONLINE_STORE_UNAVAILABLE', 'redis is down', { retriable: true }) });
    const out = masked(escaped, 'Unexpected error.') as GraphQLError;
    assert.equal(out.message, 'redis is down');
    assert.deepEqual(out.path, ['user', 'stats']);
    assert.deepEqual(out.extensions, { code: 'ONLINE_STORE_UNAVAILABLE', retriable: true });
  });

  it('masks anything else with code INTERNAL and the request id, keeping the path', () => {
    const out = masked(new GraphQLError('boom', { path: ['x'], originalError: new TypeError('cannot read secret of undefined') }), 'Unexpected error.') as GraphQLError;
    assert.equal(out.message, 'Unexpected error.');
    assert.deepEqual(out.path, ['x']);
    assert.deepEqual(out.extensions, { code: 'INTERNAL', retriable: false, requestId: 'req-1', unexpected: true });
    assert.equal((masked(new Error('plain'), 'Unexpected error.') as GraphQLError).extensions.code, 'INTERNAL');
  });

  it('shows the real message when told to expose it, still coded INTERNAL', () => {
    const exposing = maskError({ expose: true, requestId: () => undefined });
    const out = exposing(new Error('the real reason'), 'Unexpected error.') as GraphQLError;
    assert.equal(out.message, 'the real reason');
    assert.deepEqual(out.extensions, { code: 'INTERNAL', retriable: false, unexpected: true });
  });
});

describe('graphqlErrorLog', () => {
  const capture = () => {
    const lines: Record<string, unknown>[] = [];
    return { lines, log: graphqlErrorLog(createLogger('debug', (line) => lines.push(JSON.parse(line) as Record<string, unknown>))) };
  };

  it('logs an unexpected error with its real message, name, stack and path', () => {
    const { lines, log } = capture();
    log(new GraphQLError('wrapped', { path: ['a', 0, 'b'], originalError: new RangeError('index 7 out of range') }));
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.msg, 'graphql.unexpected_error');
    assert.equal(lines[0]!.level, 'error');
    assert.equal(lines[0]!.error, 'index 7 out of range');
    assert.equal(lines[0]!.name, 'RangeError');
    assert.equal(lines[0]!.path, 'a.0.b');
    assert.match(String(lines[0]!.stack), /RangeError: index 7 out of range/);
  });

  it('logs an uncoded SkewlessError at warn with its code, and other lines as they were', () => {
    const { lines, log } = capture();
    log(new SkewlessError('SOME_CODE', 'a coded failure'));
    log('yoga says', 'something');
    assert.deepEqual(lines.map((l) => [l.level, l.msg, l.code ?? l.error]), [
      ['warn', 'graphql.uncoded_error', 'SOME_CODE'],
      ['error', 'yoga says', ['something']],
    ]);
  });
});
