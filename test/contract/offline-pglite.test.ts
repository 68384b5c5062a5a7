import { pgliteOfflineStore } from '../../src/stores/pglite/offline.ts';
import { offlineStoreContract } from './offline-store.contract.ts';

offlineStoreContract('PGlite (embedded)', { open: () => pgliteOfflineStore() });
