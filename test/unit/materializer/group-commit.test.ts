import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { groupCommitter } from '../../../src/materializer/group-commit.ts';

/** A commit the test finishes by hand, so what queues while it runs is under the test's control. */
function manualCommits() {
  const commits: { items: string[]; finish: (ok: boolean) => void }[] = [];
  const committer = groupCommitter(
    (items: string[]) =>
      new Promise<string>((resolve, reject) => commits.push({ items, finish: (ok) => (ok ? resolve(items.join('+')) : reject(new Error(`failed ${items.join('+')}`))) })),
    5,
  );
  return { commits, committer };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('groupCommitter', () => {
  it('commits a lone batch at once, and groups those that arrive while a commit runs', async () => {
    const { commits, committer } = manualCommits();
    const a = committer.add('a', 1);
    await tick();
    assert.deepEqual(commits.map((c) => c.items), [['a']]);
    assert.equal(committer.waiting(), 0, 'the running commit is not waiting');
    const b = committer.add('b', 2);
    const c = committer.add('c', 2);
    await tick();
    assert.equal(commits.length, 1, 'nothing else starts while a commit runs');
    assert.equal(committer.waiting(), 2);
    commits[0]!.finish(true);
    assert.equal(await a, 'a');
    await tick();
    assert.deepEqual(commits.map((x) => x.items), [['a'], ['b', 'c']]);
    commits[1]!.finish(true);
    assert.deepEqual(await Promise.all([b, c]), ['b+c', 'b+c']);
  });

  it('caps a commit at the size limit, but never leaves an oversized batch behind', async () => {
    const { commits, committer } = manualCommits();
    const first = committer.add('first', 1);
    await tick();
    const rest = [committer.add('big', 9), committer.add('x', 3), committer.add('y', 2), committer.add('z', 1)];
    commits[0]!.finish(true);
    await first;
    for (let i = 1; i <= 3; i++) {
      await tick();
      assert.equal(commits.length, i + 1, `commit ${i} has started`);
      commits[i]!.finish(true);
    }
    await Promise.all(rest);
    assert.deepEqual(commits.map((c) => c.items), [['first'], ['big'], ['x', 'y'], ['z']]);
  });

  it('fails every batch of a failed commit, and goes on with the next', async () => {
    const { commits, committer } = manualCommits();
    const a = committer.add('a', 1);
    await tick();
    const b = committer.add('b', 1);
    commits[0]!.finish(false);
    await assert.rejects(a, /failed a/);
    await tick();
    commits[1]!.finish(true);
    assert.equal(await b, 'b');
  });
});

describe('groupCommitter, as the consumer queues ahead of it', () => {
  it('lets a producer wait for room, and wakes it once a commit takes what was queued', async () => {
    const { commits, committer } = manualCommits();
    void committer.add('a', 1);
    await tick();
    void committer.add('b', 3);
    let roomy = false;
    void committer.room(3).then(() => (roomy = true));
    await tick();
    assert.equal(roomy, false, '3 queued behind the running commit: no room under 3');
    assert.equal(await Promise.race([committer.room(4).then(() => 'room'), tick().then(() => 'wait')]), 'room', 'room under 4');
    commits[0]!.finish(true);
    await tick();
    assert.equal(roomy, true, 'b went into the next commit');
    commits[1]!.finish(true);
  });

  it('discards what is queued behind a failed commit, rejecting it, and reports idle once nothing runs', async () => {
    const { commits, committer } = manualCommits();
    const a = committer.add('a', 1);
    await tick();
    const queued = [committer.add('b', 1), committer.add('c', 1)];
    let idle = false;
    void committer.idle().then(() => (idle = true));
    assert.deepEqual(committer.discard(new Error('dropped')), ['b', 'c']);
    await assert.rejects(Promise.all(queued), /dropped/);
    assert.equal(idle, false, 'a still commits');
    commits[0]!.finish(false);
    await assert.rejects(a, /failed a/);
    await tick();
    assert.equal(idle, true);
    assert.equal(commits.length, 1, 'nothing discarded was committed');
  });
});
