import { postgresOfflineStore } from '../../src/stores/postgres/offline.ts';
import { RedisOnlineStore } from '../../src/stores/redis/online.ts';
import { serviceUrl } from '../helpers/services.ts';
import { onDemandSuite } from './on-demand.suite.ts';

onDemandSuite('real stores (PostgreSQL, Redis)', async () => {
  const online = new RedisOnlineStore(serviceUrl('REDIS_URL'));
  await online.waitUntilReady();
  return { online, offline: postgresOfflineStore(serviceUrl('DATABASE_URL')) };
});
