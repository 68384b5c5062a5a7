import { RedisOnlineStore } from '../../src/stores/redis/online.ts';
import { serviceUrl } from '../helpers/services.ts';
import { onlineStoreContract } from './online-store.contract.ts';

onlineStoreContract('Redis (real server)', {
  open: async () => {
    const store = new RedisOnlineStore(serviceUrl('REDIS_URL'));
    await store.waitUntilReady();
    return store;
  },
});
