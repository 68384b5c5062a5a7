import { RedisOnlineStore } from '../../src/stores/redis/online.ts';
import { serviceUrl } from '../helpers/services.ts';
import { onlineStoreContract } from './online-store.contract.ts';

onlineStoreContract('Redis Cluster (real 3-node cluster)', {
  open: async () => {
    const store = new RedisOnlineStore(serviceUrl('REDIS_CLUSTER_URL'), 'cluster');
    await store.waitUntilReady();
    return store;
  },
});
