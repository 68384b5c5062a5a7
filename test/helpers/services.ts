/** Connection settings of the real services integration tests use (npm test provides them). */
import { Partitioners } from 'kafkajs';
import type { Kafka, Producer } from 'kafkajs';
import type { Stores } from '../../src/stores/open.ts';
import { postgresOfflineStore } from '../../src/stores/postgres/offline.ts';
import { RedisOnlineStore } from '../../src/stores/redis/online.ts';

export function serviceUrl(name: 'DATABASE_URL' | 'REDIS_URL' | 'REDIS_CLUSTER_URL' | 'KAFKA_BROKERS'): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`${name} is not set: run the tests with \`npm test\` (which starts the services) or set it yourself`);
  }
  return value;
}

/** A name no other test run uses, for tables, keys and topics. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}

/** Real PostgreSQL and Redis stores, from the services npm test provides. */
export async function realStores(): Promise<Stores> {
  const online = new RedisOnlineStore(serviceUrl('REDIS_URL'));
  await online.waitUntilReady();
  return { online, offline: postgresOfflineStore(serviceUrl('DATABASE_URL')) };
}

/** Creates topics (waiting for their leaders) or deletes them, through a short-lived admin client. */
export async function kafkaTopics(kafka: Kafka, action: 'create' | 'delete', topics: readonly string[], partitions = 3): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (action === 'create') await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })), waitForLeaders: true });
    else await admin.deleteTopics({ topics: [...topics] }).catch(() => {});
  } finally {
    await admin.disconnect();
  }
}

/**
 * A producer whose retries cannot duplicate a message: a send retried after a request timed out on a busy
 * machine would otherwise be written twice (a CI run once saw 19 messages of 14 sent), and tests count
 * messages and compare values with an oracle of what was sent. Idempotence needs one request in flight.
 */
export function testProducer(kafka: Kafka): Producer {
  return kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
}
