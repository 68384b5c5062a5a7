/** The materializer bench's reading of what the materializer logged (bench/log-problems.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LogProblems } from '../../../bench/log-problems.ts';

const line = (level: string, msg: string, extra = '') => `{"time":"2026-11-23T07:00:00.000Z","level":"${level}","msg":"${msg}"${extra}}\n`;

describe('LogProblems', () => {
  it('says nothing was logged when only info lines and other text came', () => {
    const problems = new LogProblems();
    problems.feed(line('info', 'materializer.started'));
    problems.feed('a stack trace line\n{not json\n');
    assert.equal(problems.byMessage.size, 0);
    assert.match(problems.text(), /no warning or error/);
  });

  it('counts warn and error lines per message, with the first line of each, across chunks that split lines', () => {
    const problems = new LogProblems();
    const failed = line('error', 'materializer.batch_failed', ',"message":"boom"');
    // A line split across three chunks, then two more of the same and one warning.
    problems.feed(failed.slice(0, 20));
    problems.feed(failed.slice(20, 50));
    problems.feed(failed.slice(50) + line('error', 'materializer.batch_failed', ',"message":"again"') + line('warn', 'materializer.online_behind'));
    problems.feed(line('error', 'materializer.batch_failed'));
    assert.deepEqual([...problems.byMessage.keys()], ['materializer.batch_failed', 'materializer.online_behind']);
    assert.equal(problems.byMessage.get('materializer.batch_failed')!.count, 3);
    assert.equal(problems.byMessage.get('materializer.batch_failed')!.first, failed.trimEnd());
    assert.equal(problems.byMessage.get('materializer.online_behind')!.count, 1);
    const text = problems.text();
    assert.match(text, /^\*\*The materializer logged 3 × materializer\.batch_failed/);
    assert.match(text, /1 × materializer\.online_behind/);
    assert.ok(text.includes('"message":"boom"'), 'the first failure is quoted');
  });

  it('holds back an unfinished last line until its end comes', () => {
    const problems = new LogProblems();
    problems.feed(line('error', 'materializer.batch_failed').trimEnd());
    assert.equal(problems.byMessage.size, 0);
    problems.feed('\n');
    assert.equal(problems.byMessage.get('materializer.batch_failed')!.count, 1);
  });
});
