/**
 * The filter for kafkajs's epoch-sized negative timer delay (tulios/kafkajs#1751): that warning is dropped,
 * every other one still reaches process 'warning' listeners. Each case waits for the listener with a
 * promise (warnings are emitted on the next tick), then checks what arrived.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isKafkajsThrottleDelay, quietKafkajsThrottleWarning } from '../../../src/ops/kafka-client.ts';

/** The warnings emitted while `act` runs, collected up to a marker warning emitted after it. */
async function warningsDuring(act: () => void): Promise<string[]> {
  const seen: string[] = [];
  const done = new Promise<void>((resolve) => {
    const listener = (w: Error) => {
      if (w.name === 'SkewlessTestMarker') {
        process.off('warning', listener);
        resolve();
      } else seen.push(`${w.name}: ${w.message.split('\n')[0]}`);
    };
    process.on('warning', listener);
  });
  act();
  process.emitWarning('end', 'SkewlessTestMarker');
  await done;
  return seen;
}

describe('kafkajs throttle-delay warning', () => {
  it('recognises only an epoch-sized negative delay', () => {
    assert.equal(isKafkajsThrottleDelay('-1795301785278 is a negative number.\nTimeout duration was set to 1.'), true);
    assert.equal(isKafkajsThrottleDelay('-5 is a negative number.\nTimeout duration was set to 1.'), false);
    assert.equal(isKafkajsThrottleDelay('-0.0968 is a negative number.'), false);
    assert.equal(isKafkajsThrottleDelay('something else'), false);
  });

  it('drops that warning and passes every other', async () => {
    quietKafkajsThrottleWarning();
    quietKafkajsThrottleWarning();
    const seen = await warningsDuring(() => {
      // What kafkajs does on an idle connection: -1 − Date.now().
      clearTimeout(setTimeout(() => {}, -1 - Date.now()));
      process.emitWarning('-5 is a negative number.\nTimeout duration was set to 1.', 'TimeoutNegativeWarning');
      process.emitWarning('something else', { type: 'OtherWarning' });
    });
    assert.deepEqual(seen, ['TimeoutNegativeWarning: -5 is a negative number.', 'OtherWarning: something else']);
  });
});
