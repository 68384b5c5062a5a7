/**
 * The hold on a commit's online write: released at once by the next commit's planning, or after its
 * limit should that commit be held up (mock timers: no real waiting).
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { onlineHold } from '../../../src/materializer/online-hold.ts';

/** Whether the promise has settled once pending callbacks have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return done;
}

describe('onlineHold', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  it('holds until released, and release ends it at once', async () => {
    const hold = onlineHold(1000);
    mock.timers.tick(999);
    assert.equal(await settled(hold.held), false, 'still held before the limit');
    hold.release();
    assert.equal(await settled(hold.held), true);
    hold.release();
  });

  it('ends by itself at the limit when nothing releases it', async () => {
    const hold = onlineHold(1000);
    mock.timers.tick(999);
    assert.equal(await settled(hold.held), false);
    mock.timers.tick(1);
    assert.equal(await settled(hold.held), true);
  });
});
