/**
 * Load shedding's admission: a fixed number in flight, a short FIFO queue, refusals at once when both are
 * full and after the queue timeout (on mocked timers: nothing here waits for real time).
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { Admission } from '../../../../src/graphql/limits/admission.ts';
import type { ShedReason, Waiting } from '../../../../src/graphql/limits/admission.ts';

/** A request as the admission sees it: what happened to it, and its release once admitted. */
function request(admission: Admission) {
  const r = { admitted: false, refused: undefined as ShedReason | undefined, release: () => {}, waiting: undefined as Waiting | undefined };
  r.waiting = admission.enter(
    (release) => {
      r.admitted = true;
      r.release = release;
    },
    (reason) => (r.refused = reason),
  );
  return r;
}

describe('Admission', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  it('admits up to maxInFlight at once, synchronously', () => {
    const admission = new Admission({ maxInFlight: 2, maxQueued: 0, queueTimeoutMs: 100 });
    const [a, b] = [request(admission), request(admission)];
    assert.equal(a.admitted && b.admitted, true);
    assert.equal(admission.inFlight, 2);
  });

  it('refuses at once when every slot is taken and the queue is full', () => {
    const admission = new Admission({ maxInFlight: 1, maxQueued: 1, queueTimeoutMs: 100 });
    request(admission);
    const queued = request(admission);
    const shed = request(admission);
    assert.equal(queued.admitted, false);
    assert.equal(queued.refused, undefined);
    assert.equal(shed.refused, 'queue_full');
    assert.equal(admission.queued, 1);
  });

  it('hands freed slots to waiting requests first come, first served', () => {
    const admission = new Admission({ maxInFlight: 1, maxQueued: 3, queueTimeoutMs: 1000 });
    const first = request(admission);
    const waiting = [request(admission), request(admission), request(admission)];
    first.release();
    assert.deepEqual(waiting.map((w) => w.admitted), [true, false, false]);
    waiting[0]!.release();
    assert.deepEqual(waiting.map((w) => w.admitted), [true, true, false]);
    assert.equal(admission.inFlight, 1);
    assert.equal(admission.queued, 1);
  });

  it('refuses a request that waited queueTimeoutMs without a slot, and not one admitted in time', () => {
    const admission = new Admission({ maxInFlight: 1, maxQueued: 2, queueTimeoutMs: 100 });
    const first = request(admission);
    const early = request(admission);
    mock.timers.tick(50);
    const late = request(admission);
    first.release(); // early gets the slot after 50 ms
    mock.timers.tick(99); // late has now waited 99 ms
    assert.equal(late.refused, undefined);
    mock.timers.tick(1);
    assert.equal(late.refused, 'queue_timeout');
    assert.equal(early.refused, undefined);
    assert.equal(early.admitted, true);
    assert.equal(admission.queued, 0);
  });

  it('takes a request whose client went away out of the queue', () => {
    const admission = new Admission({ maxInFlight: 1, maxQueued: 1, queueTimeoutMs: 100 });
    const first = request(admission);
    const gone = request(admission);
    assert.ok(gone.waiting, 'a queued request can leave the queue');
    gone.waiting.cancel();
    assert.equal(admission.queued, 0);
    const next = request(admission);
    first.release();
    assert.equal(gone.admitted, false, 'a cancelled request is never admitted');
    assert.equal(next.admitted, true);
    mock.timers.tick(1000);
    assert.equal(gone.refused, undefined, 'nor refused later');
  });

  it('gives a slot back once however often release is called, and cancel after admission does nothing', () => {
    const admission = new Admission({ maxInFlight: 1, maxQueued: 1, queueTimeoutMs: 100 });
    const first = request(admission);
    const a = request(admission);
    first.release();
    assert.equal(a.admitted, true);
    a.waiting!.cancel();
    assert.equal(admission.inFlight, 1, 'cancelling an admitted request frees nothing');
    const b = request(admission);
    a.release();
    assert.equal(b.admitted, true);
    a.release();
    assert.equal(admission.inFlight, 1, 'a second release frees nothing either');
    b.release();
    assert.equal(admission.inFlight, 0);
  });

  it('does not grow while requests stay stuck in flight and waiters keep timing out', () => {
    const admission = new Admission({ maxInFlight: 1, maxQueued: 2, queueTimeoutMs: 10 });
    request(admission);
    for (let i = 0; i < 1000; i++) {
      request(admission);
      mock.timers.tick(10);
    }
    assert.equal(admission.queued, 0);
    // Observable through behaviour: the queue still admits in order once the stuck request ends.
    const [x, y] = [request(admission), request(admission)];
    assert.equal(request(admission).refused, 'queue_full');
    assert.equal(x.admitted || y.admitted, false);
  });

  it('admits everything when maxInFlight is 0', () => {
    const admission = new Admission({ maxInFlight: 0, maxQueued: 0, queueTimeoutMs: 0 });
    assert.equal(Array.from({ length: 100 }, () => request(admission)).every((r) => r.admitted), true);
  });

  it('refuses settings that are not whole numbers of zero or more', () => {
    assert.throws(() => new Admission({ maxInFlight: -1, maxQueued: 0, queueTimeoutMs: 0 }), /maxInFlight/);
    assert.throws(() => new Admission({ maxInFlight: 1, maxQueued: 1.5, queueTimeoutMs: 0 }), /maxQueued/);
  });
});
