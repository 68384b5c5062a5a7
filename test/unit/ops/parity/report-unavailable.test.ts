/** parityReport on an offline store parity never ran against: a coded error, not a masked SQL failure. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SkewlessError } from '../../../../src/errors.ts';
import { parityReport } from '../../../../src/ops/parity/report.ts';
import { pgliteOfflineStore } from '../../../../src/stores/pglite/offline.ts';

describe('parityReport without parity tables', () => {
  it('is PARITY_UNAVAILABLE, saying how to start parity', async () => {
    const offline = await pgliteOfflineStore();
    try {
      await assert.rejects(parityReport(offline), (error: unknown) => {
        assert.ok(error instanceof SkewlessError);
        assert.equal(error.code, 'PARITY_UNAVAILABLE');
        assert.match(error.message, /--parity-sample-rate/);
        return true;
      });
    } finally {
      await offline.close();
    }
  });
});
