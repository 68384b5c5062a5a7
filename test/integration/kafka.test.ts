/** Plumbing against a real Kafka broker: produce a keyed message and consume it in a consumer group. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { kafkaClient } from '../../src/ops/kafka-client.ts';
import type { Consumer, Producer } from 'kafkajs';
import { serviceUrl, testProducer, uniqueName } from '../helpers/services.ts';

describe('Kafka (real broker)', () => {
  const kafka = kafkaClient('skewless-test', serviceUrl('KAFKA_BROKERS').split(','));
  const topic = uniqueName('plumbing');
  let producer: Producer | undefined;
  let consumer: Consumer | undefined;

  after(async () => {
    await consumer?.disconnect();
    await producer?.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  });

  it('produces a message and consumes it from the beginning', async () => {
    const admin = kafka.admin();
    await admin.connect();
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true }), true);
    await admin.disconnect();

    const event = { user_id: 'u1', merchant_id: 'm1', amount: 12.5, event_time: '2026-11-21T05:31:09.000Z' };
    producer = testProducer(kafka);
    await producer.connect();
    const [record] = await producer.send({ topic, messages: [{ key: event.user_id, value: JSON.stringify(event) }] });
    assert.equal(record?.errorCode, 0);

    consumer = kafka.consumer({ groupId: uniqueName('plumbing-group') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = await new Promise<{ key: string; value: unknown; partition: number }>((resolve, reject) => {
      consumer!
        .run({
          eachMessage: async ({ message, partition }) => {
            resolve({ key: message.key?.toString() ?? '', value: JSON.parse(message.value?.toString() ?? 'null'), partition });
          },
        })
        .catch(reject);
    });
    assert.equal(received.key, 'u1');
    assert.deepEqual(received.value, event);
    assert.equal(received.partition, record?.partition, 'consumed from the partition the key was produced to');
  });
});
