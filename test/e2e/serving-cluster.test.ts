import { postgresOfflineStore } from '../../src/stores/postgres/offline.ts';
import { RedisOnlineStore } from '../../src/stores/redis/online.ts';
import { serviceUrl } from '../helpers/services.ts';
import { servingSuite } from './serving.suite.ts';

servingSuite('real stores (Redis Cluster + PostgreSQL)', async () => {
  const online = new RedisOnlineStore(serviceUrl('REDIS_CLUSTER_URL'), 'cluster');
  await online.waitUntilReady();
  return { online, offline: postgresOfflineStore(serviceUrl('DATABASE_URL')) };
});
