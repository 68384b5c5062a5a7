/**
 * Every Kafka client Skewless creates, made here: kafkajs's own logging off (errors reach us as
 * rejections), and Node 24's warning about a kafkajs timer silenced.
 *
 * kafkajs 2.2.4 arms its request queue's throttle check with `setTimeout(check, throttledUntil - Date.now())`
 * while `throttledUntil` is still its initial -1 (tulios/kafkajs#1751): a delay of about minus the epoch
 * in ms, which Node has always run after 1 ms. Node 24 also prints a TimeoutNegativeWarning for it, on
 * every start of every process that talks to Kafka. This drops exactly that warning — a negative delay
 * as large as the epoch, which no timer of Skewless sets — and lets every other warning through.
 */

import { Kafka, logLevel } from 'kafkajs';

/** Whether a TimeoutNegativeWarning's text is kafkajs's epoch-sized delay (pure). */
export function isKafkajsThrottleDelay(warning: string | Error): boolean {
  const match = /^(-\d+(?:\.\d+)?) is a negative number/.exec(typeof warning === 'string' ? warning : warning.message);
  return match !== null && Number(match[1]) <= -1e12;
}

/** A kafkajs client for `brokers`, named `clientId`. */
export function kafkaClient(clientId: string, brokers: readonly string[]): Kafka {
  quietKafkajsThrottleWarning();
  return new Kafka({ clientId, brokers: [...brokers], logLevel: logLevel.NOTHING });
}

let installed = false;

/** Installs the filter on process.emitWarning, once per process. */
export function quietKafkajsThrottleWarning(): void {
  if (installed) return;
  installed = true;
  const emit = process.emitWarning.bind(process) as (warning: string | Error, ...rest: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const options = rest[0];
    const type = typeof options === 'string' ? options : (options as { type?: string } | undefined)?.type;
    if (type === 'TimeoutNegativeWarning' && isKafkajsThrottleDelay(warning)) return;
    emit(warning, ...rest);
  }) as typeof process.emitWarning;
}
