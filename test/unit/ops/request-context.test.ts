import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { childLogger, createLogger } from '../../../src/ops/log.ts';
import { MAX_REQUEST_ID_LENGTH, RequestContext, requestIdFrom } from '../../../src/ops/request-context.ts';

const fixed = () => 'generated-id';

describe('request ids', () => {
  it("keeps the caller's id as sent when it is made of safe characters", () => {
    assert.equal(requestIdFrom('4bf92f3577b34da6a3ce929d0e0e4736', fixed), '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.equal(requestIdFrom('checkout/svc:42@eu-1+a=b_c.d', fixed), 'checkout/svc:42@eu-1+a=b_c.d');
  });

  it('drops characters that could break a log line or a header, and cuts long ids', () => {
    assert.equal(requestIdFrom('abc "def"\n{x}<y>', fixed), 'abcdefxy');
    const long = 'a'.repeat(MAX_REQUEST_ID_LENGTH + 50);
    assert.equal(requestIdFrom(long, fixed), 'a'.repeat(MAX_REQUEST_ID_LENGTH));
  });

  it('generates an id when the header is missing, empty or has nothing safe in it', () => {
    assert.equal(requestIdFrom(undefined, fixed), 'generated-id');
    assert.equal(requestIdFrom('', fixed), 'generated-id');
    assert.equal(requestIdFrom('"" <>', fixed), 'generated-id');
    assert.match(requestIdFrom(undefined), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('takes the first of a header sent twice', () => {
    assert.equal(requestIdFrom(['first', 'second'], fixed), 'first');
  });
});

describe('child loggers', () => {
  const capture = () => {
    const lines: Record<string, unknown>[] = [];
    return { lines, logger: createLogger('debug', (line) => lines.push(JSON.parse(line) as Record<string, unknown>)) };
  };

  it('put bound fields on every line, and fields given at the call win', () => {
    const { lines, logger } = capture();
    const child = childLogger(logger, { view: 'a', requestId: 'r1' });
    child.info('one');
    child.warn('two', { view: 'b', extra: 1 });
    assert.deepEqual(lines.map(({ time: _, ...rest }) => rest), [
      { level: 'info', msg: 'one', view: 'a', requestId: 'r1' },
      { level: 'warn', msg: 'two', view: 'b', requestId: 'r1', extra: 1 },
    ]);
  });

  it('respect the parent level', () => {
    const lines: string[] = [];
    childLogger(createLogger('warn', (l) => lines.push(l)), { a: 1 }).info('hidden');
    assert.deepEqual(lines, []);
  });

  it('carry the id of the request being handled, including across awaits, and none outside one', async () => {
    const { lines, logger } = capture();
    const requests = new RequestContext(logger);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const handle = (id: string, wait: Promise<void>, then: () => void) =>
      requests.run({ requestId: id }, async () => {
        requests.logger.info('start', { id });
        await wait;
        requests.logger.info('end', { id });
        then();
      });
    // Interleaved: the second request starts and ends while the first is waiting for it.
    await Promise.all([handle('slow', released, () => {}), handle('quick', Promise.resolve(), release)]);
    requests.logger.info('outside');
    for (const line of lines.filter((l) => l.msg !== 'outside')) assert.equal(line.requestId, line.id, JSON.stringify(line));
    assert.equal(lines.filter((l) => l.requestId !== undefined).length, 4);
    assert.equal(lines.find((l) => l.msg === 'outside')!.requestId, undefined);
  });
});
