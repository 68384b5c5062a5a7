/**
 * The Kafka broker stopped and started again while a materializer consumes: the same materializer, never
 * restarted by the test, resumes by itself, and the offline state equals the oracle (every produced row
 * and event exactly once, windows equal to the same functions over the produced events). The broker is
 * a private one (test/helpers/private-services.ts); PostgreSQL and Redis are the shared ones.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { Kafka } from 'kafkajs';
import { kafkaClient } from '../../src/ops/kafka-client.ts';
import { startMaterializer } from '../../src/materializer/consumer.ts';
import type { Materializer } from '../../src/materializer/consumer.ts';
import { createLogger } from '../../src/ops/log.ts';
import type { Registry } from '../../src/registry/registry.ts';
import type { Stores } from '../../src/stores/open.ts';
import type { RedisOnlineStore } from '../../src/stores/redis/online.ts';
import { RAW_EVENTS_IN_BUCKETS, RAW_EVENTS_LAYOUT_KEY } from '../../src/stores/redis/sorted-sets.ts';
import { assertExactlyOnce, committedCount, messagesFor, produceSlice } from '../helpers/materialization-oracle.ts';
import type { Produced } from '../helpers/materialization-oracle.ts';
import { materializerRepo } from '../helpers/materializer.ts';
import { privateKafka, waitFor } from '../helpers/private-services.ts';
import type { PrivateKafka } from '../helpers/private-services.ts';
import { registryFromSdl } from '../helpers/repos.ts';
import { kafkaTopics, realStores, uniqueName } from '../helpers/services.ts';

const COUNT = 4_000;
const USERS = 40;

describe('Kafka broker stopped and started again under a materializer', () => {
  const id = uniqueName('kafkarestart');
  const names = { id, source: 'KafkaRestartTxn', eventsTopic: `${id}_events`, rowsTopic: `${id}_rows`, rowsView: `${id}_stats`, spendView: `${id}_spend` };
  const group = `${id}_group`;
  let broker: PrivateKafka | undefined;
  let stores: Stores | undefined;
  let dir: string | undefined;
  let materializer: Materializer | undefined;
  let registry: Registry;
  let kafka: Kafka;

  before(async () => {
    broker = await privateKafka();
    // Reported, not asserted: how long a private broker takes to come up on this machine.
    console.log(`# private Kafka broker ready in ${broker.startedInMs} ms`);
    kafka = kafkaClient('skewless-test', [broker.brokers]);
    const repo = await materializerRepo('kafkarestart', names);
    dir = repo.dir;
    registry = await registryFromSdl(repo.sdl);
    stores = await realStores();
    await kafkaTopics(kafka, 'create', [names.rowsTopic, names.eventsTopic], 3);
  });

  after(async () => {
    await materializer?.stop().catch(() => {});
    await stores?.online.close();
    await stores?.offline.close();
    await broker?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const produce = (messages: Produced, from: number, to: number) => produceSlice(kafka, names, messages, from, to);

  it('resumes consuming by itself and ends exactly once', { timeout: 120_000 }, async () => {
    const produced = messagesFor(id, COUNT, USERS);
    const offline = stores!.offline;
    materializer = await startMaterializer(registry, stores!, { brokers: [broker!.brokers], groupId: group, sessionTimeoutMs: 6000 }, createLogger('error', () => {}));
    await materializer.started;

    const half = COUNT / 2;
    await produce(produced, 0, half);
    await waitFor(async () => (await committedCount(offline, group)) === 2 * half, 'the first half to be committed');

    await broker!.stop();
    await broker!.start();
    // The second half only exists on the restarted broker: consuming it proves the consumer came back.
    await produce(produced, half, COUNT);
    await waitFor(async () => (await committedCount(offline, group)) === 2 * COUNT, 'the second half to be committed after the restart', 90_000);

    await assertExactlyOnce(offline, registry, names, produced);

    // A stop waits for the retirement of earlier versions' sorted sets begun at start: this Redis holds
    // none of the view's, so the view is marked and gateways read it without asking for them.
    await materializer.stop();
    materializer = undefined;
    const redis = (stores!.online as RedisOnlineStore).client;
    try {
      assert.equal(await redis.hget(RAW_EVENTS_LAYOUT_KEY, names.spendView), RAW_EVENTS_IN_BUCKETS);
    } finally {
      await redis.hdel(RAW_EVENTS_LAYOUT_KEY, names.spendView);
    }
  });
});
