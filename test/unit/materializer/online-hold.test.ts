/**
 * The hold on a commit's online write: released at once by the next commit's planning, or after its
 * limit should that commit be held up (mock timers: no real waiting); and the queue of online writes the
 * consumer keeps with it: one at a time, in commit order, held only when a commit follows.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { onlineHold, onlineWrites } from '../../../src/materializer/online-hold.ts';

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

/** Writes that record when they start and finish when told to. */
function writes() {
  const started: string[] = [];
  const finish = new Map<string, () => void>();
  const write = (name: string) => () => {
    started.push(name);
    return new Promise<void>((resolve) => finish.set(name, resolve));
  };
  return { started, finish: (name: string) => finish.get(name)!(), write };
}

/** Lets pending callbacks run. */
const turn = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe('onlineWrites', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  it('holds a write a commit follows until that commit has planned (release), and starts one nothing follows at once', async () => {
    const q = onlineWrites(1000);
    const w = writes();
    q.queue(w.write('a'), true);
    await turn();
    assert.deepEqual(w.started, [], 'held while the next commit folds');
    q.release();
    await turn();
    assert.deepEqual(w.started, ['a']);
    w.finish('a');
    q.queue(w.write('b'), false);
    await turn();
    assert.deepEqual(w.started, ['a', 'b'], 'no commit follows: at once');
    w.finish('b');
    await q.settled();
  });

  it('starts a held write at the limit when the next commit is held up before planning', async () => {
    const q = onlineWrites(1000);
    const w = writes();
    q.queue(w.write('a'), true);
    mock.timers.tick(999);
    await turn();
    assert.deepEqual(w.started, []);
    mock.timers.tick(1);
    await turn();
    assert.deepEqual(w.started, ['a']);
  });

  it('runs one write at a time, in commit order; a new commit ends the hold of the one before', async () => {
    const q = onlineWrites(1000);
    const w = writes();
    q.queue(w.write('a'), true);
    q.queue(w.write('b'), false);
    await turn();
    assert.deepEqual(w.started, ['a'], 'a released by the next queue; b waits for it');
    let done = false;
    void q.settled().then(() => (done = true));
    w.finish('a');
    await turn();
    assert.deepEqual(w.started, ['a', 'b']);
    assert.equal(done, false, 'settled waits for the last write');
    w.finish('b');
    await turn();
    assert.equal(done, true);
  });
});

