import { postgresOfflineStore } from '../../src/stores/postgres/offline.ts';
import { serviceUrl } from '../helpers/services.ts';
import { offlineStoreContract } from './offline-store.contract.ts';

offlineStoreContract('PostgreSQL (real server)', { open: async () => postgresOfflineStore(serviceUrl('DATABASE_URL')) });
